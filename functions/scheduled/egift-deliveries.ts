import { sendDueDeliveries } from '../app/delivery-send';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';

/** Sends the e-gift deliveries whose time has come (scheduled ones, and any a dead sender left SENDING). */
export const run = sendDueDeliveries;

async function handle(): Promise<void> {
  const report = await recordedRun('egift-deliveries', () => sendDueDeliveries());
  logger.info('E-gift deliveries', { ...report });
  // A failed delivery is marked FAILED (support resends it); a run that failed to send shows in the errors.
  if (report.failed > 0) throw new Error(`${report.failed} e-gift deliveries failed`);
}

export const handler = observed(handle);
