/**
 * `npm run backfill-expiry-index [-- --restart] [--dynamo-port 8000] [--data-dir .local]`: repairs the
 * expiry index (functions/store/expiry-index.ts) of a running `npm start`, printing progress per page.
 * In AWS: `TABLE_NAME=<table> AWS_REGION=<region> npm run backfill-expiry-index -- --aws` with the
 * retailer's credentials. Safe to stop and run again: it goes on from its checkpoint.
 */
import { backfillExpiryIndex } from '../functions/store/expiry-index';
import { runBackfill } from './backfill-cli';

await runBackfill('expiry-index-backfill', async (restart) => ({
  shards: await backfillExpiryIndex({
    restart,
    onProgress: (p) =>
      process.stdout.write(
        `shard ${p.shard}: ${p.examined} examined, ${p.removed} removed, ${p.moved} moved, ${p.unchanged} right${p.done ? ' (done)' : ''}\n`,
      ),
  }),
}));
