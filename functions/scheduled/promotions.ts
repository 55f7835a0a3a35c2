import { runPromotions } from '../app/promotion-run';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';

/** Sends queued member promotions in the background, page by page, resuming where a run stopped. */
export const run = runPromotions;

async function handle(): Promise<void> {
  const report = await recordedRun('promotions', () => runPromotions());
  logger.info('Member promotions', { ...report });
  if (report.failed > 0)
    throw new Error(`${report.failed} promotion runs failed; they resume on the next run`);
}

export const handler = observed(handle);
