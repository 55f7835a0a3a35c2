import { config } from '../config';
import {
  capsOf,
  type EffectiveCheckLimits,
  effectiveCheckLimits,
  type FailureCounts,
  type FailureLimits,
  hasRoom,
  refusal,
  windowStartOf,
} from '../core/check-limits';
import { RateLimitedError } from '../core/errors';
import { tableName } from '../store/dynamo-client';
import { countFailure, type FailureSubject, readFailureCounts } from '../store/failed-checks';
import { findProgram } from '../store/programs';
import type { Principal } from './auth';
import type { RateLimitKind } from './route-table';

/**
 * The limit a route declares in the route table (`rateLimit`): what enumeration produces, failed lookups
 * and wrong or locked PINs, is counted per caller and per merchant (store/failed-checks.ts), and a caller
 * with no room for one more failure is refused 429 RATE_LIMITED with Retry-After. Volume is not counted
 * here: API Gateway's usage plans do that, at no cost to the table.
 *
 * What a request pays: a read of the caller's counts (this window's item and the last one's), sent as it
 * arrives with the operation's own reads (a lookup's card read goes out in the same BatchGetItem:
 * store/batched-reads.ts); a lookup without a PIN within a second of the last read, nothing (see
 * RECENT_COUNTS_MS); once a caller is known to be over, nothing (this process remembers until its
 * Retry-After). A success writes nothing; a failure writes one conditional UpdateItem
 * that adds to the caller's and the merchant's counts only while both have room, so however many
 * requests run at once, across any number of instances, no more failures are answered than the limit.
 * Requests already running when a caller reaches its limit complete their reads (at most the requests in
 * flight at that moment); a miss among them is answered 429 and counts nothing.
 */
export interface CheckGate {
  /** Settles when the caller may be answered; rejects with 429 RATE_LIMITED when it may not. */
  readonly allowed: Promise<void>;
  /** Counts a failed check (after `allowed`); rejects with 429 when no room was left meanwhile. */
  failed(): Promise<void>;
}

/** Whose failures a caller's count and its owner's are: each API key within its merchant, staff users and source IPs alone. */
export function subjectOf(principal: Principal, sourceIp: string | undefined): FailureSubject {
  switch (principal.type) {
    case 'merchant':
      return {
        owner: `merchant#${principal.merchant.id}`,
        caller: `key#${principal.key.id}`,
        merchantId: principal.merchant.id,
      };
    case 'staff':
      return { owner: `staff#${principal.sub}`, caller: `staff#${principal.sub}` };
    case 'anonymous': {
      const ip = `ip#${sourceIp ?? 'unknown'}`;
      return { owner: ip, caller: ip };
    }
    case 'pass':
      return { owner: `pass#${principal.cardId}`, caller: `pass#${principal.cardId}` };
    case 'member':
      return { owner: `member#${principal.memberId}`, caller: `member#${principal.memberId}` };
  }
}

/** The deployment's defaults (functions/config.ts). */
export function defaultCheckLimits(): EffectiveCheckLimits {
  const settings = config();
  return {
    failuresPerCaller: settings.FAILED_CHECKS_LIMIT_PER_CALLER,
    failuresPerMerchant: settings.FAILED_CHECKS_LIMIT_PER_MERCHANT,
  };
}

/**
 * The limits of a caller: a merchant's own `checkLimits`, else the strictest of its programs', else the
 * defaults (core/check-limits.ts). Programs come from the warm cache (they are read for the card anyway).
 */
export async function limitsOf(principal: Principal): Promise<FailureLimits> {
  const defaults = defaultCheckLimits();
  if (principal.type !== 'merchant') {
    return { owner: defaults.failuresPerCaller, caller: defaults.failuresPerCaller };
  }
  const { merchant } = principal;
  const ownComplete =
    merchant.checkLimits?.failuresPerCaller !== undefined &&
    merchant.checkLimits.failuresPerMerchant !== undefined;
  const programs = ownComplete
    ? []
    : await Promise.all(merchant.programIds.map((id) => findProgram(id, { cached: true })));
  const limits = effectiveCheckLimits(
    defaults,
    merchant.checkLimits,
    programs.map((program) => program?.checkLimits),
  );
  return { owner: limits.failuresPerMerchant, caller: limits.failuresPerCaller };
}

/** Callers known to be over a limit, until when (epoch ms); bounded, oldest forgotten first. */
const MAX_REMEMBERED = 10_000;
const refusedUntil = new Map<string, number>();

function remember(memory: string, until: number): void {
  refusedUntil.delete(memory);
  if (refusedUntil.size >= MAX_REMEMBERED) {
    const oldest = refusedUntil.keys().next();
    if (!oldest.done) refusedUntil.delete(oldest.value);
  }
  refusedUntil.set(memory, until);
}

/** Whole seconds this process still refuses the caller (or its merchant) for, if it knows it is over. */
function knownRefusal(memories: readonly string[], now: number): number | undefined {
  let until = 0;
  for (const memory of memories) {
    const at = refusedUntil.get(memory);
    if (at === undefined) continue;
    if (at <= now) refusedUntil.delete(memory);
    else until = Math.max(until, at);
  }
  return until > now ? Math.max(1, Math.ceil((until - now) / 1000)) : undefined;
}

/**
 * Counts this process read lately, per caller. A request that only reads (a lookup without a PIN) within
 * RECENT_COUNTS_MS of the last read of its caller's counts, in the same window and with room left then,
 * uses them instead of reading again, so a busy till's lookups are one GetItem. What that can let
 * through: for that long, a caller that other instances' failures have just put over its limit may still
 * be told about codes that exist here (a miss is refused by the failure's write condition, as always, and
 * this process then knows); failures counted here are added to the copy. PIN checks always read.
 */
const RECENT_COUNTS_MS = 1_000;

interface RecentCounts {
  readonly at: number;
  readonly limits: FailureLimits;
  readonly counts: FailureCounts;
}
const recentCounts = new Map<string, RecentCounts>();

function keep(memory: string, recent: RecentCounts | undefined): void {
  recentCounts.delete(memory);
  if (!recent) return;
  if (recentCounts.size >= MAX_REMEMBERED) {
    const oldest = recentCounts.keys().next();
    if (!oldest.done) recentCounts.delete(oldest.value);
  }
  recentCounts.set(memory, recent);
}

function recentEnough(memory: string, now: number): RecentCounts | undefined {
  const recent = recentCounts.get(memory);
  if (!recent) return undefined;
  const fresh = now - recent.at < RECENT_COUNTS_MS && windowStartOf(recent.at) === windowStartOf(now);
  return fresh && refusal(recent.limits, recent.counts, now) === undefined ? recent : undefined;
}

const plusOne = (counts: FailureCounts): FailureCounts => ({
  owner: { ...counts.owner, current: counts.owner.current + 1 },
  caller: { ...counts.caller, current: counts.caller.current + 1 },
});

export interface LimitedRequest {
  readonly principal: Principal;
  readonly sourceIp: string | undefined;
  readonly now: Date;
  /** The request only reads until the limit allows it (runsAlongsideLimit): recent counts will do. */
  readonly readsOnly?: boolean;
}

/** Starts the limit's read for a request; see CheckGate. */
export function openCheckGate(request: LimitedRequest): CheckGate {
  const subject = subjectOf(request.principal, request.sourceIp);
  const now = request.now.getTime();
  const table = tableName();
  // The merchant's total and the caller's own are remembered apart: one key over refuses only itself.
  const [ownerMemory, callerMemory] = [
    `${table}|${subject.owner}`,
    `${table}|${subject.owner}|${subject.caller}`,
  ];
  const refuse = (limits: FailureLimits, counts: FailureCounts): never => {
    const seconds = refusal(limits, counts, now) ?? 1;
    keep(callerMemory, undefined);
    remember(hasRoom(limits.owner, counts.owner, now) ? callerMemory : ownerMemory, now + seconds * 1000);
    throw new RateLimitedError(seconds);
  };
  const known = knownRefusal([ownerMemory, callerMemory], now);
  const recent = request.readsOnly ? recentEnough(callerMemory, now) : undefined;
  const state: Promise<{ limits: FailureLimits; counts: FailureCounts }> =
    known !== undefined
      ? Promise.reject(new RateLimitedError(known))
      : recent
        ? Promise.resolve(recent)
        : Promise.all([limitsOf(request.principal), readFailureCounts(subject, now)]).then(
            ([limits, counts]) => {
              if (refusal(limits, counts, now) !== undefined) refuse(limits, counts);
              keep(callerMemory, { at: now, limits, counts });
              return { limits, counts };
            },
          );
  const allowed = state.then(() => undefined);
  // Awaited by the dispatcher unless the request failed first: never an unhandled rejection.
  allowed.catch(() => undefined);
  return {
    allowed,
    failed: async () => {
      const { limits, counts } = await state;
      const outcome = await countFailure(subject, capsOf(limits, counts, now), limits.caller, now);
      if (outcome.counted) {
        const copy = recentCounts.get(callerMemory);
        if (copy) keep(callerMemory, { ...copy, counts: plusOne(copy.counts) });
        return;
      }
      // Others took the room meanwhile: this window as it now is, the previous one as it was read.
      refuse(limits, {
        owner: { current: outcome.current.owner, previous: counts.owner.previous },
        caller: { current: outcome.current.caller, previous: counts.caller.previous },
      });
    },
  };
}

/**
 * Whether the operation may run while the limit is being read, its answer held back until the limit
 * allows it: a balance inquiry without a PIN only reads, so a refused request loses nothing but a read.
 * Anything that checks a PIN spends an attempt, and a PIN set writes, so they wait for the limit.
 */
export function runsAlongsideLimit(kind: RateLimitKind, body: unknown): boolean {
  if (kind !== 'lookup') return false;
  return typeof body !== 'object' || body === null || Reflect.get(body, 'pin') === undefined;
}

/** Forgets which callers this process knows to be over, as a new Lambda instance would. */
export function resetCheckLimitsForTests(): void {
  refusedUntil.clear();
  recentCounts.clear();
}
