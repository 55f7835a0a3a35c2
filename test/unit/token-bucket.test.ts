import { describe, expect, it } from 'vitest';
import {
  type BucketState,
  fullAfterMs,
  fullAt,
  perMinute,
  refill,
  takeToken,
} from '../../functions/core/token-bucket';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const tenPerMinute = perMinute(10);

/** Spends `count` requests at `now`, threading the state: how many were allowed, and the state after. */
function spend(state: BucketState | undefined, count: number, now: number, limits = tenPerMinute) {
  let current = state;
  let allowed = 0;
  for (let i = 0; i < count; i++) {
    const decision = takeToken(current, limits, now);
    if (decision.allowed) {
      allowed += 1;
      current = decision.state;
    }
  }
  return { allowed, state: current };
}

describe('takeToken', () => {
  it('a bucket never seen is full: the first request leaves capacity - 1', () => {
    const decision = takeToken(undefined, tenPerMinute, T0);
    expect(decision).toEqual({ allowed: true, state: { tokens: 9, refilledAt: T0 }, retryAfterSeconds: 0 });
  });

  it('allows a burst of exactly capacity, then refuses with Retry-After', () => {
    const { allowed, state } = spend(undefined, 25, T0);
    expect(allowed).toBe(10);
    expect(state).toEqual({ tokens: 0, refilledAt: T0 });
    // 10 a minute: one token every 6 s.
    expect(takeToken(state, tenPerMinute, T0)).toMatchObject({ allowed: false, retryAfterSeconds: 6 });
  });

  it('a refusal leaves the bucket as time made it (nothing to store)', () => {
    const empty = { tokens: 0, refilledAt: T0 };
    const refused = takeToken(empty, tenPerMinute, T0 + 3000);
    expect(refused.allowed).toBe(false);
    expect(refused.state).toEqual({ tokens: 0.5, refilledAt: T0 + 3000 });
    expect(refused.retryAfterSeconds).toBe(3);
  });

  it('refills continuously: one token per 1/rate seconds', () => {
    const empty = { tokens: 0, refilledAt: T0 };
    expect(takeToken(empty, tenPerMinute, T0 + 5999).allowed).toBe(false);
    expect(takeToken(empty, tenPerMinute, T0 + 6000)).toEqual({
      allowed: true,
      state: { tokens: 0, refilledAt: T0 + 6000 },
      retryAfterSeconds: 0,
    });
  });

  it('never refills past capacity, however long the bucket sat idle', () => {
    const idle = { tokens: 3, refilledAt: T0 };
    expect(refill(idle, tenPerMinute, T0 + 24 * 3600 * 1000).tokens).toBe(10);
    expect(spend(idle, 50, T0 + 3600 * 1000).allowed).toBe(10);
  });

  it('a clock behind the stored time refills nothing and keeps the stored time', () => {
    const state = { tokens: 2, refilledAt: T0 };
    expect(refill(state, tenPerMinute, T0 - 60_000)).toEqual({ tokens: 2, refilledAt: T0 });
    const decision = takeToken(state, tenPerMinute, T0 - 60_000);
    expect(decision.state).toEqual({ tokens: 1, refilledAt: T0 });
  });

  it('treats stored nonsense (below zero, above capacity) as the nearest valid count', () => {
    expect(refill({ tokens: -5, refilledAt: T0 }, tenPerMinute, T0).tokens).toBe(0);
    expect(refill({ tokens: 500, refilledAt: T0 }, tenPerMinute, T0).tokens).toBe(10);
  });

  it('over any window, allows at most capacity + rate x window (the token bucket bound)', () => {
    // Requests every 250 ms for 2 minutes against 10/min: 10 (burst) + 20 (refill) at most.
    let state: BucketState | undefined;
    let allowed = 0;
    for (let t = 0; t <= 120_000; t += 250) {
      const decision = takeToken(state, tenPerMinute, T0 + t);
      if (decision.allowed) {
        allowed += 1;
        state = decision.state;
      }
    }
    expect(allowed).toBe(30);
  });

  it('does not drift: thirds of a token add up to whole ones', () => {
    // 20/min = 1/3 token a second; 3 s later exactly one token is back.
    const limits = perMinute(20);
    let state: BucketState = { tokens: 0, refilledAt: T0 };
    for (let i = 1; i <= 300; i++) {
      const decision = takeToken(state, limits, T0 + i * 3000);
      expect(decision.allowed).toBe(true);
      state = decision.state;
    }
    expect(state.tokens).toBe(0);
  });

  it('takes a cost of several tokens, or none', () => {
    const decision = takeToken({ tokens: 2, refilledAt: T0 }, tenPerMinute, T0, 3);
    expect(decision).toMatchObject({ allowed: false, retryAfterSeconds: 6 });
    expect(takeToken({ tokens: 3, refilledAt: T0 }, tenPerMinute, T0, 3).state.tokens).toBe(0);
  });

  it('refuses limits that could never allow anything', () => {
    expect(() => takeToken(undefined, { capacity: 0, refillPerSecond: 1 }, T0)).toThrow(RangeError);
    expect(() => takeToken(undefined, { capacity: 5, refillPerSecond: 0 }, T0)).toThrow(RangeError);
    expect(() => takeToken(undefined, { capacity: 5, refillPerSecond: Number.NaN }, T0)).toThrow(RangeError);
  });
});

describe('when a bucket is full again', () => {
  it('fullAfterMs: an empty bucket fills in capacity / rate', () => {
    expect(fullAfterMs(tenPerMinute)).toBe(60_000);
    expect(fullAfterMs(perMinute(5))).toBe(60_000);
    expect(fullAfterMs({ capacity: 10, refillPerSecond: 3 })).toBe(3334);
  });

  it('fullAt: from the stored state; a bucket that old is full whatever it held', () => {
    expect(fullAt({ tokens: 4, refilledAt: T0 }, tenPerMinute)).toBe(T0 + 36_000);
    expect(fullAt({ tokens: 10, refilledAt: T0 }, tenPerMinute)).toBe(T0);
    for (const tokens of [0, 0.5, 3, 9.99]) {
      const state = { tokens, refilledAt: T0 };
      expect(refill(state, tenPerMinute, T0 + fullAfterMs(tenPerMinute)).tokens).toBe(10);
      expect(refill(state, tenPerMinute, fullAt(state, tenPerMinute)).tokens).toBe(10);
    }
  });
});
