import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { finalizeExport } from '../store/exports';

/** Step 3: merge the segments' summaries, check the liability equation, write summary and manifest. */
async function handle(event: { readonly exportId: string }) {
  const run = await finalizeExport(event);
  logger.info('Export finished', { exportId: run.id, month: run.month, files: run.files?.length ?? 0 });
  if (run.status === 'SUCCEEDED') countMetric(METRIC.financeExportSucceeded);
  return { exportId: run.id, status: run.status };
}

export const handler = observed(handle);
