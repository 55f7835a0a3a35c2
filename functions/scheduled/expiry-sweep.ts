import { expireCards } from '../app/sweeps';
import { logger } from '../logger';
import { recordedRun } from '../store/job-runs';

export const run = expireCards;

export async function handler(): Promise<void> {
  const report = await recordedRun('expiry-sweep', () => expireCards());
  logger.info('Card expiry sweep', { ...report });
  if (report.failed > 0) throw new Error(`${report.failed} expired cards could not be settled`);
}
