import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { failExport } from '../store/exports';

export interface FailedInput {
  readonly exportId?: string;
  /** What a Step Functions Catch puts under ResultPath: the error name and its cause. */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

/** The catch-all of the state machine: the run is FAILED with the reason (a new POST runs it again). */
async function handle(event: FailedInput): Promise<{ exportId?: string; status: 'FAILED' }> {
  const reason = [event.error?.Error, causeOf(event.error?.Cause)].filter(Boolean).join(': ') || 'failed';
  logger.error('Export failed', { exportId: event.exportId, reason, metric: METRIC.financeExportFailed });
  countMetric(METRIC.financeExportFailed);
  if (event.exportId) await failExport(event.exportId, reason);
  return { ...(event.exportId ? { exportId: event.exportId } : {}), status: 'FAILED' };
}

/** A Lambda error's Cause is JSON ({ errorMessage, ... }); keep the message only. */
function causeOf(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

export const handler = observed(handle);
