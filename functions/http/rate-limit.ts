import { config } from '../config';
import { cardIdForCode, isPlausibleCode, normalizeCode } from '../core/card-code';
import { RateLimitedError } from '../core/errors';
import { type BucketLimits, perMinute } from '../core/token-bucket';
import { consume } from '../store/rate-limits';
import { codePeppers } from '../store/secrets';
import type { Principal } from './auth';
import type { RateLimitKind } from './route-table';

/**
 * The rate limits a route declares in the route table (`rateLimit`), enforced by the dispatcher after
 * authorisation and before the operation: one token bucket per caller (API key, staff user, or source
 * IP for anonymous callers) and one per card the request names, per kind of limit. Routes without a
 * limit pay nothing; a limited route pays one conditional write per bucket (store/rate-limits.ts).
 */
export interface RouteLimits {
  readonly perCaller: BucketLimits;
  readonly perCard: BucketLimits;
}

export function limitsOf(kind: RateLimitKind): RouteLimits {
  const settings = config();
  switch (kind) {
    case 'lookup':
      return {
        perCaller: perMinute(settings.RATE_LIMIT_LOOKUP_PER_KEY_PER_MINUTE),
        perCard: perMinute(settings.RATE_LIMIT_LOOKUP_PER_CARD_PER_MINUTE),
      };
    case 'pin':
      return {
        perCaller: perMinute(settings.RATE_LIMIT_PIN_PER_KEY_PER_MINUTE),
        perCard: perMinute(settings.RATE_LIMIT_PIN_PER_CARD_PER_MINUTE),
      };
  }
}

/** Whom the per-caller bucket counts: each API key on its own (not its merchant), each staff user. */
export function callerOf(principal: Principal, sourceIp: string | undefined): string {
  switch (principal.type) {
    case 'merchant':
      return `key#${principal.key.id}`;
    case 'staff':
      return `staff#${principal.sub}`;
    case 'anonymous':
      return `ip#${sourceIp ?? 'unknown'}`;
    case 'pass':
      return `pass#${principal.cardId}`;
  }
}

const CARD_ID = /^gc_[0-9a-z]{26}$/;

/**
 * The card a request names: the `{cardId}` of its path, or the card a `code` in its body would be
 * (its id is the code's HMAC, so this reads nothing). A malformed id or an implausible code names no
 * card (the operation answers 404 without reading either); the per-caller bucket still counts it.
 */
export async function cardOf(
  params: Readonly<Record<string, string>>,
  body: unknown,
): Promise<string | undefined> {
  const fromPath = params.cardId;
  if (fromPath !== undefined) return CARD_ID.test(fromPath) ? fromPath : undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const raw: unknown = Reflect.get(body, 'code');
  if (typeof raw !== 'string') return undefined;
  const code = normalizeCode(raw);
  // The id under the current pepper: a stable bucket per code, even for a card issued under an older
  // pepper (whose stored id differs; finding it would take a read).
  return isPlausibleCode(code) ? cardIdForCode(code, (await codePeppers()).current.value) : undefined;
}

export interface LimitedRequest {
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly sourceIp: string | undefined;
  readonly now: Date;
}

/**
 * Takes a token from the caller's bucket and one from the card's, both at once. (A caller over its
 * limit may so spend a token of a card it names; it can only name a card whose code it knows.) Throws
 * 429 RATE_LIMITED with the seconds until a retry can succeed.
 */
export async function enforceRateLimit(kind: RateLimitKind, request: LimitedRequest): Promise<void> {
  const limits = limitsOf(kind);
  const now = request.now.getTime();
  const card = await cardOf(request.params, request.body);
  const [caller, perCard] = await Promise.all([
    consume(`${kind}#${callerOf(request.principal, request.sourceIp)}`, limits.perCaller, now),
    card === undefined ? undefined : consume(`${kind}#card#${card}`, limits.perCard, now),
  ]);
  if (!caller.allowed) throw new RateLimitedError(caller.retryAfterSeconds);
  if (perCard && !perCard.allowed) throw new RateLimitedError(perCard.retryAfterSeconds);
}

/**
 * Whether the operation may run while its rate limit is being checked, its answer held back until the
 * limit allows it: a balance inquiry without a PIN only reads, so a refused request loses nothing but
 * a read, and an allowed one costs one round trip instead of two. Anything that checks a PIN spends
 * an attempt, so it waits for the limit.
 */
export function runsAlongsideLimit(kind: RateLimitKind, body: unknown): boolean {
  if (kind !== 'lookup') return false;
  return typeof body !== 'object' || body === null || Reflect.get(body, 'pin') === undefined;
}
