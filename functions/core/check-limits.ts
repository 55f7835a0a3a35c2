/**
 * Failed-check limits, as pure arithmetic. What enumeration produces is failures: lookups by code that
 * find nothing (or a card behind a wrong PIN) and wrong or locked PINs. They are counted per caller (API
 * key, staff user, source IP) and per merchant (all its keys) in fixed windows of
 * FAILED_CHECKS_WINDOW_MINUTES; the limit looks at a sliding window, estimated from the current window
 * and the previous one weighted by how much of it still overlaps (so a caller stopped near the end of a
 * window is not handed a fresh budget at its boundary). Successes are never counted.
 *
 * A caller is refused (429) while any of its counts has no room for one more failure; a failure is
 * written only while there is room (a condition on the write), so failed answers never exceed a limit,
 * however many requests run at once.
 */
export const FAILED_CHECKS_WINDOW_MINUTES = 10;
export const FAILED_CHECKS_WINDOW_MS = FAILED_CHECKS_WINDOW_MINUTES * 60_000;

/** Overrides a merchant or a program may set (absent fields keep the deployment's default). */
export interface CheckLimits {
  /** Failures per caller (each API key, staff user or source IP) in a sliding 10-minute window. */
  readonly failuresPerCaller?: number;
  /** Failures of all of a merchant's API keys together in a sliding 10-minute window. */
  readonly failuresPerMerchant?: number;
}

export type EffectiveCheckLimits = Required<CheckLimits>;

/** The most any limit may be set to: far below what makes guessing a code or PIN worthwhile. */
export const MAX_CHECK_LIMIT = 100_000;

/**
 * The limits for one caller: the merchant's own setting wins; otherwise the strictest setting among the
 * programs the merchant belongs to (a program may ask that the merchants selling its cards guess less);
 * otherwise the deployment's default.
 */
export function effectiveCheckLimits(
  defaults: EffectiveCheckLimits,
  merchant: CheckLimits | undefined,
  programs: readonly (CheckLimits | undefined)[],
): EffectiveCheckLimits {
  const pick = (field: keyof CheckLimits): number => {
    const own = merchant?.[field];
    if (own !== undefined) return own;
    const fromPrograms = programs
      .map((limits) => limits?.[field])
      .filter((value): value is number => value !== undefined);
    return fromPrograms.length > 0 ? Math.min(...fromPrograms) : defaults[field];
  };
  return { failuresPerCaller: pick('failuresPerCaller'), failuresPerMerchant: pick('failuresPerMerchant') };
}

/** Start (epoch ms) of the fixed window `now` falls in. */
export const windowStartOf = (now: number): number =>
  Math.floor(now / FAILED_CHECKS_WINDOW_MS) * FAILED_CHECKS_WINDOW_MS;

/** One count in the two windows the sliding estimate reads. */
export interface WindowCounts {
  readonly current: number;
  readonly previous: number;
}

/**
 * The most the current window's count may reach at `now` under `limit`: the limit less the share of the
 * previous window that still overlaps the sliding window. A failure may be written while the current
 * count is below it (the write's condition), and a caller is refused once the count reaches it.
 */
export function currentWindowCap(limit: number, previous: number, now: number): number {
  const elapsed = (now - windowStartOf(now)) / FAILED_CHECKS_WINDOW_MS;
  return Math.floor(limit - previous * (1 - elapsed));
}

export const hasRoom = (limit: number, counts: WindowCounts, now: number): boolean =>
  counts.current < currentWindowCap(limit, counts.previous, now);

/**
 * Whole seconds (at least 1) until a count with no room has room for one failure again, if nothing
 * more is counted meanwhile: later in this window as the previous window's share fades, or in the next.
 */
export function retryAfterSeconds(limit: number, counts: WindowCounts, now: number): number {
  const start = windowStartOf(now);
  const next = start + FAILED_CHECKS_WINDOW_MS;
  // In this window: limit - previous * (1 - f) >= current + 1.
  let at: number;
  if (counts.current + 1 <= limit && counts.previous > 0) {
    const f = 1 - (limit - counts.current - 1) / counts.previous;
    at = start + Math.ceil(Math.max(0, f) * FAILED_CHECKS_WINDOW_MS);
  } else if (counts.current === 0) {
    at = next;
  } else {
    // In the next one, where this window's count is the previous one: limit - current * (1 - f) >= 1.
    const f = 1 - (limit - 1) / counts.current;
    at = next + Math.ceil(Math.max(0, f) * FAILED_CHECKS_WINDOW_MS);
  }
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/** A caller's counts: its own and its owner's (its merchant's; the caller's own when it has none). */
export interface FailureCounts {
  readonly owner: WindowCounts;
  readonly caller: WindowCounts;
}

/** The limits that apply to those two counts. */
export interface FailureLimits {
  readonly owner: number;
  readonly caller: number;
}

/** Seconds until the caller may try again when a count has no room for one more failure; else undefined. */
export function refusal(limits: FailureLimits, counts: FailureCounts, now: number): number | undefined {
  const waits = [
    hasRoom(limits.owner, counts.owner, now) ? 0 : retryAfterSeconds(limits.owner, counts.owner, now),
    hasRoom(limits.caller, counts.caller, now) ? 0 : retryAfterSeconds(limits.caller, counts.caller, now),
  ];
  const wait = Math.max(...waits);
  return wait > 0 ? wait : undefined;
}

/** The write condition's caps for this window (see currentWindowCap). */
export const capsOf = (limits: FailureLimits, counts: FailureCounts, now: number): FailureLimits => ({
  owner: currentWindowCap(limits.owner, counts.owner.previous, now),
  caller: currentWindowCap(limits.caller, counts.caller.previous, now),
});
