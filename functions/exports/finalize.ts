import { breakageByProgram } from '../app/breakage-report';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { writeBreakageFile } from '../store/export-breakage';
import { finalizeExport } from '../store/exports';

/**
 * Step 3: merge the segments' summaries, check the liability equation, write summary, the breakage
 * forecast as of the export's month (from the reporting consumer's cohort counters) and manifest.
 */
async function handle(event: { readonly exportId: string }) {
  const run = await finalizeExport(event, new Date(), async (planned) => [
    await writeBreakageFile(planned.keyPrefix, await breakageByProgram(planned.month)),
  ]);
  logger.info('Export finished', { exportId: run.id, month: run.month, files: run.files?.length ?? 0 });
  if (run.status === 'SUCCEEDED') countMetric(METRIC.financeExportSucceeded);
  return { exportId: run.id, status: run.status };
}

export const handler = observed(handle);
