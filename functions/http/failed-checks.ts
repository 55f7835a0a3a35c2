import { DomainError } from '../core/errors';
import { logger } from '../logger';
import { recordFailedCheck } from '../store/fraud-counters';
import type { Principal } from './auth';
import { callerOf } from './rate-limit';
import type { RouteDefinition } from './route-table';

/**
 * Failed checks for the fraud rule FAILED_CHECKS_KEY: a lookup by code that found nothing (unknown
 * code, or a wrong PIN a merchant is told apart from nothing) or a wrong or locked PIN anywhere. Each
 * costs one ADD on the caller's window counter, which the fraud consumer reads from the stream. Requests
 * the rate limiter refused (429) are not counted: a flood must not turn into writes.
 */
const PIN_FAILURES = new Set(['PIN_INVALID', 'PIN_LOCKED']);

export function isFailedCheck(route: Pick<RouteDefinition, 'rateLimit'>, error: unknown): boolean {
  if (!(error instanceof DomainError)) return false;
  if (PIN_FAILURES.has(error.code)) return true;
  return route.rateLimit === 'lookup' && error.code === 'NOT_FOUND';
}

/** Counts a failed check; a failure to count is logged, never turned into the caller's answer. */
export async function noteFailedCheck(
  route: Pick<RouteDefinition, 'rateLimit'>,
  principal: Principal,
  error: unknown,
  now: Date,
): Promise<void> {
  if (principal.type === 'anonymous' || principal.type === 'pass' || !isFailedCheck(route, error)) return;
  try {
    await recordFailedCheck(
      callerOf(principal, undefined),
      principal.type === 'merchant' ? principal.merchant.id : undefined,
      now,
    );
  } catch (failure) {
    logger.warn('Could not count a failed check for the fraud rules', { error: failure as Error });
  }
}
