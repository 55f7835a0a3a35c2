/**
 * `npm run backfill-last4-index [-- --restart] [--dynamo-port 8000] [--data-dir .local]`: repairs the
 * last-4 search keys (functions/store/last4-index.ts) of a running `npm start`, printing progress per page.
 * In AWS: `TABLE_NAME=<table> AWS_REGION=<region> npm run backfill-last4-index -- --aws` with the
 * retailer's credentials. Safe to stop and run again: it goes on from its checkpoint.
 */
import { parseArgs } from 'node:util';
import { backfillLast4Index } from '../functions/store/last4-index';
import { useLocalStackEnvironment } from './cli-environment';

const { values } = parseArgs({
  options: {
    restart: { type: 'boolean', default: false },
    aws: { type: 'boolean', default: false },
    'dynamo-port': { type: 'string', default: '8000' },
    'data-dir': { type: 'string', default: '.local' },
  },
});
if (!values.aws) {
  await useLocalStackEnvironment({
    dataDir: values['data-dir'],
    dynamoPort: values['dynamo-port'],
    issuerName: 'local-backfill',
  });
}
try {
  const totals = await backfillLast4Index({
    restart: values.restart ?? false,
    onProgress: (p) =>
      process.stdout.write(
        `program ${p.programId}: ${p.examined} examined, ${p.rewritten} rewritten${p.done ? ' (done)' : ''}\n`,
      ),
  });
  console.log(JSON.stringify({ job: 'last4-index-backfill', programs: totals }));
} catch (error) {
  console.error(`last4-index-backfill failed: ${(error as Error).message}`);
  process.exit(1);
}
