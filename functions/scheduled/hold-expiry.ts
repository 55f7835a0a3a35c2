import { releaseExpiredHolds } from '../app/sweeps';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';

export const run = releaseExpiredHolds;

async function handle(): Promise<void> {
  const report = await recordedRun('hold-expiry', () => releaseExpiredHolds());
  logger.info('Hold expiry sweep', { ...report });
  // Failed items stay due and are taken by the next run; a failed run shows in the function's errors.
  if (report.failed > 0) throw new Error(`${report.failed} expired holds could not be released`);
}

export const handler = observed(handle);
