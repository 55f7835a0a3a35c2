import { breakageByProgram } from '../app/breakage-report';
import { loyaltyReport } from '../app/loyalty-report';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { writeBreakageFile } from '../store/export-breakage';
import { writeBulkInvoiceFile } from '../store/export-bulk-invoices';
import { writeLoyaltyFile } from '../store/export-loyalty';
import { finalizeExport } from '../store/exports';

/**
 * Step 3: merge the segments' summaries, check the liability equation, write summary, the breakage
 * forecast as of the export's month (from the reporting consumer's cohort counters), the loyalty file, the
 * bulk batches accepted in the period (their invoice summaries) and manifest.
 */
async function handle(event: { readonly exportId: string }) {
  const run = await finalizeExport(event, new Date(), async (planned) => [
    await writeBreakageFile(planned.keyPrefix, await breakageByProgram(planned.month)),
    await writeLoyaltyFile(
      planned.keyPrefix,
      await loyaltyReport(`${planned.month}-01`, planned.cutoff.slice(0, 10)),
    ),
    await writeBulkInvoiceFile(planned.keyPrefix, planned.periodStart, planned.cutoff),
  ]);
  logger.info('Export finished', { exportId: run.id, month: run.month, files: run.files?.length ?? 0 });
  if (run.status === 'SUCCEEDED') countMetric(METRIC.financeExportSucceeded);
  return { exportId: run.id, status: run.status };
}

export const handler = observed(handle);
