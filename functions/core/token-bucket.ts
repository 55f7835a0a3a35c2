/**
 * A token bucket, as pure arithmetic: the local gateway (local/gateway-auth.ts) keeps `{ tokens,
 * refilledAt }` per usage key, as API Gateway's usage plans do, and asks this module whether a request may
 * take a token and what to keep. Tokens refill continuously at
 * `refillPerSecond` up to `capacity` (the burst); a request takes one token or is refused with the
 * whole seconds until one is there again (the `Retry-After` of the 429).
 *
 * Invariants the caller relies on: a stored bucket never holds fewer than 0 or more than `capacity`
 * tokens, and `refilledAt` never moves backwards (a clock behind the stored time refills nothing), so
 * a bucket whose `refilledAt` is at least `fullAfterMs` old is full whatever its stored tokens.
 */
export interface BucketLimits {
  /** Most tokens the bucket holds: the burst a caller may spend at once. */
  readonly capacity: number;
  /** Tokens added per second, continuously. */
  readonly refillPerSecond: number;
}

export interface BucketState {
  readonly tokens: number;
  /** Epoch milliseconds at which `tokens` was counted. */
  readonly refilledAt: number;
}

export interface BucketDecision {
  readonly allowed: boolean;
  /**
   * Allowed: the state to store (a token taken). Refused: the bucket as it is now, refilled; nothing
   * needs storing, since refilling is a function of time alone.
   */
  readonly state: BucketState;
  /** Whole seconds (at least 1) until a token is there again; 0 when allowed. */
  readonly retryAfterSeconds: number;
}

/** `count` requests per minute, all of which may come at once. */
export const perMinute = (count: number): BucketLimits => ({ capacity: count, refillPerSecond: count / 60 });

/** Tokens are kept to a millionth: stored numbers stay short and sums do not drift into 0.9999999. */
const round = (tokens: number): number => Math.round(tokens * 1e6) / 1e6;

function checkLimits(limits: BucketLimits, cost: number): void {
  if (!(limits.capacity >= cost) || !(limits.refillPerSecond > 0) || !(cost > 0)) {
    throw new RangeError(
      `A token bucket needs capacity >= cost > 0 and a positive refill rate (capacity ${limits.capacity}, refill ${limits.refillPerSecond}/s, cost ${cost}).`,
    );
  }
}

/** How long an empty bucket takes to fill up, in milliseconds. */
export const fullAfterMs = (limits: BucketLimits): number =>
  Math.ceil((limits.capacity / limits.refillPerSecond) * 1000);

/** The bucket at `now`: no bucket yet is a full one; time refills it, never past capacity. */
export function refill(state: BucketState | undefined, limits: BucketLimits, now: number): BucketState {
  if (!state) return { tokens: limits.capacity, refilledAt: now };
  const stored = Math.min(limits.capacity, Math.max(0, state.tokens));
  const elapsedMs = Math.max(0, now - state.refilledAt);
  return {
    tokens: round(Math.min(limits.capacity, stored + (elapsedMs / 1000) * limits.refillPerSecond)),
    refilledAt: Math.max(now, state.refilledAt),
  };
}

/** Takes `cost` tokens (default 1) if the bucket, refilled to `now`, has them. */
export function takeToken(
  state: BucketState | undefined,
  limits: BucketLimits,
  now: number,
  cost = 1,
): BucketDecision {
  checkLimits(limits, cost);
  const current = refill(state, limits, now);
  if (current.tokens >= cost) {
    return {
      allowed: true,
      state: { tokens: round(Math.max(0, current.tokens - cost)), refilledAt: current.refilledAt },
      retryAfterSeconds: 0,
    };
  }
  const missing = cost - current.tokens;
  return {
    allowed: false,
    state: current,
    retryAfterSeconds: Math.max(1, Math.ceil(missing / limits.refillPerSecond)),
  };
}

/** When a bucket in this state is full again (epoch ms): after that it is as good as absent. */
export function fullAt(state: BucketState, limits: BucketLimits): number {
  const missing = Math.max(0, limits.capacity - state.tokens);
  return state.refilledAt + Math.ceil((missing / limits.refillPerSecond) * 1000);
}
