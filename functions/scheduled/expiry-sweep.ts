import { expireCards } from '../app/sweeps';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';

export const run = expireCards;

async function handle(): Promise<void> {
  const report = await recordedRun('expiry-sweep', () => expireCards());
  logger.info('Card expiry sweep', { ...report });
  if (report.failed > 0) throw new Error(`${report.failed} expired cards could not be settled`);
}

export const handler = observed(handle);
