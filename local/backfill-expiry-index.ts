/**
 * `npm run backfill-expiry-index [-- --restart] [--dynamo-port 8000] [--data-dir .local]`: repairs the
 * expiry index (functions/store/expiry-index.ts) of a running `npm start`, printing progress per page.
 * In AWS: `TABLE_NAME=<table> AWS_REGION=<region> npm run backfill-expiry-index -- --aws` with the
 * retailer's credentials. Safe to stop and run again: it goes on from its checkpoint.
 */
import { parseArgs } from 'node:util';
import { backfillExpiryIndex } from '../functions/store/expiry-index';
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
  const totals = await backfillExpiryIndex({
    restart: values.restart ?? false,
    onProgress: (p) =>
      process.stdout.write(
        `shard ${p.shard}: ${p.examined} examined, ${p.removed} removed, ${p.moved} moved, ${p.unchanged} right${p.done ? ' (done)' : ''}\n`,
      ),
  });
  console.log(JSON.stringify({ job: 'expiry-index-backfill', shards: totals }));
} catch (error) {
  console.error(`expiry-index-backfill failed: ${(error as Error).message}`);
  process.exit(1);
}
