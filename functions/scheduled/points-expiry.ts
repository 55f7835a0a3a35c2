import { expireLoyaltyPoints } from '../app/loyalty-expiry';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';

export const run = expireLoyaltyPoints;

async function handle(): Promise<void> {
  const report = await recordedRun('points-expiry', () => expireLoyaltyPoints());
  logger.info('Loyalty points expiry sweep', { ...report });
  if (report.failed > 0) throw new Error(`${report.failed} members' points could not be expired`);
}

export const handler = observed(handle);
