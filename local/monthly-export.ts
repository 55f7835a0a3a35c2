import { config } from '../functions/config';
import { nextMonthBoundary } from '../functions/core/export-period';
import { handler as plan } from '../functions/exports/plan';
import { runExport } from '../functions/exports/runner';
import type { LocalLog } from './log';

/** setTimeout takes at most 2^31 - 1 ms (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The monthly export schedule's stand-in under `npm start`: at 00:00 of the 1st in REPORTING_TIME_ZONE
 * (UTC unless set) the export of the month just ended is planned exactly as the EventBridge schedule
 * plans it (`scheduledTime`), then run by the in-process runner once the settle margin has passed.
 */
export function startMonthlyExports(log: LocalLog): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = () => {
    if (stopped) return;
    const boundary = nextMonthBoundary(new Date(), config().REPORTING_TIME_ZONE);
    const wait = boundary.getTime() - Date.now();
    timer = setTimeout(
      () => {
        if (wait > MAX_TIMER_MS) return arm();
        plan({ scheduledTime: boundary.toISOString() })
          .then((planned) => (planned.done ? undefined : runExport(planned.exportId)))
          .then(() => log.info(`monthly export up to ${boundary.toISOString()} done`))
          .catch((error: unknown) => log.warn(`monthly export failed: ${(error as Error).message}`))
          .finally(arm);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref();
  };
  arm();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
