import { describe, expect, it } from 'vitest';
import {
  capsOf,
  currentWindowCap,
  effectiveCheckLimits,
  FAILED_CHECKS_WINDOW_MS,
  hasRoom,
  refusal,
  retryAfterSeconds,
  windowStartOf,
} from '../../functions/core/check-limits';

const W = FAILED_CHECKS_WINDOW_MS;
/** A moment `fraction` of the way through a window. */
const at = (fraction: number) => 1_000 * W + Math.round(fraction * W);

describe('the sliding failure window', () => {
  it('windows are fixed 10-minute slots', () => {
    expect(W).toBe(600_000);
    expect(windowStartOf(at(0.5))).toBe(1_000 * W);
    expect(windowStartOf(at(0))).toBe(1_000 * W);
  });

  it('the previous window weighs what still overlaps: a caller stopped late is not fresh at the boundary', () => {
    // 10 failures at the end of the last window, limit 10: at the start of this one, no room at all.
    expect(currentWindowCap(10, 10, at(0))).toBe(0);
    expect(hasRoom(10, { current: 0, previous: 10 }, at(0))).toBe(false);
    // Halfway through, half of them still count.
    expect(currentWindowCap(10, 10, at(0.5))).toBe(5);
    expect(hasRoom(10, { current: 4, previous: 10 }, at(0.5))).toBe(true);
    expect(hasRoom(10, { current: 5, previous: 10 }, at(0.5))).toBe(false);
    // Without a previous window, the limit itself.
    expect(currentWindowCap(10, 0, at(0.9))).toBe(10);
  });

  it('Retry-After is when one more failure fits again', () => {
    // Full in this window: in the next, once enough of this one has faded.
    expect(retryAfterSeconds(10, { current: 10, previous: 0 }, at(0.5))).toBe(300 + 60);
    // Full from the previous window's share: later in this one.
    expect(retryAfterSeconds(10, { current: 0, previous: 10 }, at(0))).toBe(60);
    expect(retryAfterSeconds(10, { current: 5, previous: 10 }, at(0.5))).toBe(60);
    // Limit 1: the one failure fades only at the end of the next window.
    expect(retryAfterSeconds(1, { current: 1, previous: 0 }, at(0.25))).toBe(450 + 600);
    // Never less than a second.
    expect(retryAfterSeconds(10, { current: 5, previous: 10 }, at(0.5) + W * 0.0999)).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('a refusal names the longer wait of the caller and its merchant; room is no refusal', () => {
    const counts = { owner: { current: 20, previous: 0 }, caller: { current: 3, previous: 0 } };
    expect(refusal({ owner: 100, caller: 10 }, counts, at(0.5))).toBeUndefined();
    expect(refusal({ owner: 20, caller: 10 }, counts, at(0.5))).toBe(
      retryAfterSeconds(20, counts.owner, at(0.5)),
    );
    expect(refusal({ owner: 100, caller: 3 }, counts, at(0.5))).toBe(
      retryAfterSeconds(3, counts.caller, at(0.5)),
    );
    expect(
      capsOf({ owner: 100, caller: 10 }, { ...counts, caller: { current: 0, previous: 10 } }, at(0.5)),
    ).toEqual({ owner: 100, caller: 5 });
  });
});

describe('which limits apply', () => {
  const defaults = { failuresPerCaller: 30, failuresPerMerchant: 150 };
  it('the defaults, when nobody set any', () => {
    expect(effectiveCheckLimits(defaults, undefined, [undefined, {}])).toEqual(defaults);
  });
  it("the strictest of the merchant's programs, field by field", () => {
    expect(
      effectiveCheckLimits(defaults, undefined, [
        { failuresPerCaller: 12 },
        { failuresPerCaller: 8 },
        undefined,
      ]),
    ).toEqual({ failuresPerCaller: 8, failuresPerMerchant: 150 });
  });
  it("the merchant's own setting over its programs', even when looser", () => {
    expect(
      effectiveCheckLimits(defaults, { failuresPerCaller: 500 }, [
        { failuresPerCaller: 8, failuresPerMerchant: 40 },
      ]),
    ).toEqual({ failuresPerCaller: 500, failuresPerMerchant: 40 });
  });
});
