import { config } from '../config';
import { exportIdOf, lastMonthBoundary } from '../core/export-period';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { findExportRun } from '../store/export-runs';

/**
 * How long after a month ends (00:00 of the 1st, region time zone) its finance export must have
 * succeeded. The run starts at the cutoff, waits 32 s to settle and takes minutes for a million cards
 * (BENCHMARKS.md); 6 hours leave room for Step Functions' retries and one manual re-run
 * (POST /v1/exports) before finance opens the files on the morning of the 1st.
 */
export const EXPORT_DEADLINE_HOURS = 6;

export interface ExportDeadlineReport {
  /** The month boundary whose export is checked (the latest one past its deadline). */
  readonly cutoff: string;
  readonly exportId: string;
  readonly status: string;
  readonly overdue: boolean;
  /** The scheduled jobs' common figures (local/scheduler.ts logs them). */
  readonly examined: number;
  readonly changed: number;
  readonly failed: number;
}

/** The latest month boundary whose deadline has passed at `now`. */
export function cutoffDue(now: Date, timeZone: string): Date {
  const latest = lastMonthBoundary(now, timeZone);
  if (now.getTime() - latest.getTime() >= EXPORT_DEADLINE_HOURS * 3_600_000) return latest;
  return lastMonthBoundary(new Date(latest.getTime() - 1), timeZone);
}

/**
 * Hourly: is the export of the last month past its deadline done? Emits FinanceExportOverdue 1 (not
 * SUCCEEDED: never started, still running, failed) or 0, so the alarm stays in ALARM until the run
 * succeeds and then sends its OK. The run id derives from region and cutoff, as the schedule's run does.
 */
export async function run(now = new Date()): Promise<ExportDeadlineReport> {
  const { AWS_REGION, REPORTING_TIME_ZONE } = config();
  const cutoff = cutoffDue(now, REPORTING_TIME_ZONE).toISOString();
  const exportId = exportIdOf(AWS_REGION, cutoff);
  const found = await findExportRun(exportId);
  const status = found?.status ?? 'MISSING';
  const overdue = status !== 'SUCCEEDED';
  countMetric(METRIC.financeExportOverdue, overdue ? 1 : 0);
  // A warning: the alarm on FinanceExportOverdue is what pages (docs/runbooks/export-overdue.md).
  if (overdue) logger.warn('Finance export overdue', { exportId, cutoff, status });
  return { cutoff, exportId, status, overdue, examined: 1, changed: 0, failed: 0 };
}

export const handler = observed(() => run());
