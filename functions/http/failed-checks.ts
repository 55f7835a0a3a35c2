import { DomainError } from '../core/errors';
import { logger } from '../logger';
import { countFailure } from '../store/failed-checks';
import type { Principal } from './auth';
import { type CheckGate, defaultCheckLimits, limitsOf, subjectOf } from './rate-limit';
import type { RouteDefinition } from './route-table';

/**
 * Failed checks: a lookup by code that found nothing (unknown code, or a card a merchant is told apart
 * from nothing: wrong, locked or missing PIN) or a wrong or locked PIN anywhere. They feed the limit of
 * the routes that declare one (http/rate-limit.ts) and the fraud rule FAILED_CHECKS_KEY, from one
 * counter: a failure costs one write, a success none. Requests refused with 429 are never counted: a
 * flood must not turn into writes.
 */
const PIN_FAILURES = new Set(['PIN_INVALID', 'PIN_LOCKED']);

export function isFailedCheck(route: Pick<RouteDefinition, 'rateLimit'>, error: unknown): boolean {
  if (!(error instanceof DomainError)) return false;
  if (PIN_FAILURES.has(error.code)) return true;
  return route.rateLimit === 'lookup' && error.code === 'NOT_FOUND';
}

/**
 * Counts a failed check. On a limited route through its gate: a caller refused, or out of room by the
 * time its failure is written, gets 429 instead and nothing is counted. On other routes (a wrong PIN at
 * redemption) the failure is counted for the fraud rule whatever the counts. A failure to count is
 * logged, never turned into the caller's answer.
 */
export async function noteFailedCheck(
  route: Pick<RouteDefinition, 'rateLimit'>,
  gate: CheckGate | undefined,
  principal: Principal,
  error: unknown,
  now: Date,
): Promise<void> {
  if (!isFailedCheck(route, error)) return;
  if (gate) {
    await gate.allowed;
    try {
      await gate.failed();
    } catch (failure) {
      if (failure instanceof DomainError) throw failure;
      logger.warn('Could not count a failed check', { error: failure as Error });
    }
    return;
  }
  if (principal.type === 'anonymous' || principal.type === 'pass') return;
  try {
    const limits = await limitsOf(principal).catch(() => {
      const defaults = defaultCheckLimits();
      return { owner: defaults.failuresPerMerchant, caller: defaults.failuresPerCaller };
    });
    await countFailure(subjectOf(principal, undefined), undefined, limits.caller, now.getTime());
  } catch (failure) {
    logger.warn('Could not count a failed check', { error: failure as Error });
  }
}
