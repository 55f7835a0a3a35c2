import { resumeStuckBulkBatches } from '../app/bulk-resume';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';

/** Re-invokes the runner of bulk batches whose progress stood still (functions/app/bulk-resume.ts). */
export const run = resumeStuckBulkBatches;

async function handle(): Promise<void> {
  const report = await recordedRun('bulk-resume', () => resumeStuckBulkBatches());
  logger.info('Bulk resume', { ...report });
  if (report.failed > 0) throw new Error(`${report.failed} stuck bulk batches could not be resumed`);
}

export const handler = observed(handle);
