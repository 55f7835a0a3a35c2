import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { expireCards } from '../store/sweeps';

export const run = expireCards;

async function handle(): Promise<void> {
  const report = await expireCards();
  logger.info('Card expiry sweep', { ...report });
  if (report.failed > 0) throw new Error(`${report.failed} expired cards could not be settled`);
}

export const handler = observed(handle);
