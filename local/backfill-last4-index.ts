/**
 * `npm run backfill-last4-index [-- --restart] [--dynamo-port 8000] [--data-dir .local]`: repairs the
 * last-4 search keys (functions/store/last4-index.ts) of a running `npm start`, printing progress per page.
 * In AWS: `TABLE_NAME=<table> AWS_REGION=<region> npm run backfill-last4-index -- --aws` with the
 * retailer's credentials. Safe to stop and run again: it goes on from its checkpoint.
 */
import { backfillLast4Index } from '../functions/store/last4-index';
import { runBackfill } from './backfill-cli';

await runBackfill('last4-index-backfill', async (restart) => ({
  programs: await backfillLast4Index({
    restart,
    onProgress: (p) =>
      process.stdout.write(
        `program ${p.programId}: ${p.examined} examined, ${p.rewritten} rewritten${p.done ? ' (done)' : ''}\n`,
      ),
  }),
}));
