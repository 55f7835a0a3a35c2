/**
 * When a failed delivery is tried again: exponential backoff (30 s, 2 min, 10 min, 30 min, 1 h, 2 h,
 * 4 h, then every 8 h), never later than the end of its window, 24 h after the event (or after an
 * explicit re-drive). The last attempt happens at the end of the window; when that fails too, the
 * delivery is DEAD: kept with its attempts and last error for the merchant and ops to see and re-drive.
 */
export const RETRY_DELAYS_SECONDS: readonly number[] = [30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800];

export const DELIVERY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** One HTTP attempt may take this long (connect, send, answer) before it counts as failed. */
export const ATTEMPT_TIMEOUT_MS = 5_000;

/**
 * Whoever is about to attempt a delivery first moves its next attempt this far ahead (a lease), so no
 * one else attempts it at the same time; a crash mid-attempt only delays it by the lease.
 */
export const ATTEMPT_LEASE_MS = 60_000;

export type AfterFailure =
  | { readonly kind: 'retry'; readonly nextAttemptAt: Date }
  | { readonly kind: 'dead' };

/** `failures`: failed attempts so far, this one included. */
export function afterFailure(failures: number, now: Date, deadline: Date): AfterFailure {
  if (now.getTime() >= deadline.getTime()) return { kind: 'dead' };
  const index = Math.min(Math.max(failures, 1), RETRY_DELAYS_SECONDS.length) - 1;
  const delayMs = (RETRY_DELAYS_SECONDS[index] ?? 0) * 1000;
  return {
    kind: 'retry',
    nextAttemptAt: new Date(Math.min(now.getTime() + delayMs, deadline.getTime())),
  };
}

export const deadlineOf = (start: Date): Date => new Date(start.getTime() + DELIVERY_WINDOW_MS);
