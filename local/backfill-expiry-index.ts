/**
 * `npm run backfill-expiry-index [-- --restart] [--dynamo-port 8000] [--data-dir .local]`: repairs the
 * expiry index (functions/store/expiry-index.ts) of a running `npm start`, printing progress per page.
 * In AWS: `TABLE_NAME=<table> AWS_REGION=<region> npm run backfill-expiry-index -- --aws` with the
 * retailer's credentials. Safe to stop and run again: it goes on from its checkpoint.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backfillExpiryIndex } from '../functions/store/expiry-index';
import { applyHandlerEnvironment } from './handler-env';
import { loadOrCreateLocalSecrets } from './secrets';
import { LOCAL_TABLE_NAME } from './stack';
import { createStaffIssuer } from './staff-issuer';

const { values } = parseArgs({
  options: {
    restart: { type: 'boolean', default: false },
    aws: { type: 'boolean', default: false },
    'dynamo-port': { type: 'string', default: '8000' },
    'data-dir': { type: 'string', default: '.local' },
  },
});
if (!values.aws) {
  const dataDir = resolve(values['data-dir'] ?? '.local');
  const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));
  const issuer = await createStaffIssuer({ signingKey: secrets.staffSigningKey, issuer: 'local-backfill' });
  applyHandlerEnvironment({
    tableName: LOCAL_TABLE_NAME,
    dynamodbEndpoint: `http://127.0.0.1:${values['dynamo-port']}`,
    codePepper: secrets.codePepper,
    issuer,
    logLevel: 'WARN',
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
