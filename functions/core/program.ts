import type { CodeFormat } from './card-code';
import type { CheckLimits } from './check-limits';
import { DomainError } from './errors';
import type { FraudRules } from './fraud-rules';
import { formatAmount } from './money';

/**
 * A program carries the rules for its cards: currency, limits, expiry, PIN policy, code format.
 * Rule changes apply to new cards and to later loads; existing balances and expiry dates stay.
 */
export type ExpiryPolicy =
  | { readonly type: 'NONE' }
  | { readonly type: 'MONTHS_AFTER_ISSUE'; readonly months: number }
  | { readonly type: 'MONTHS_AFTER_LAST_LOAD'; readonly months: number }
  /** US CARD Act: funds may not expire sooner than 5 years after issue or the last load. */
  | { readonly type: 'US_CARD_ACT' };

export interface CashOutPolicy {
  readonly enabled: boolean;
  /** Cash out only balances up to this many minor units. */
  readonly maxBalance?: number;
}

export type DeactivationPolicy = 'ALLOW_WITH_BALANCE' | 'REQUIRE_ZERO_BALANCE';

export const DEFAULT_CASH_OUT: CashOutPolicy = { enabled: false };
export const DEFAULT_DEACTIVATION: DeactivationPolicy = 'ALLOW_WITH_BALANCE';

export type PinPolicy = 'NEVER' | 'ALWAYS' | 'ONLINE_ONLY';

export interface Program {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly codeFormat: CodeFormat;
  /**
   * The most cards the program may issue. Its code format must keep 10^9 unissued codes per issued code
   * at this count (checkCodeFormat), and issuing stops there, so guessing a code stays hopeless at any
   * scale the program allows.
   */
  readonly maxCards: number;
  readonly pinPolicy: PinPolicy;
  readonly minLoad: number;
  readonly maxLoad: number;
  readonly maxBalance: number;
  readonly expiryPolicy: ExpiryPolicy;
  /** Cash-out (clear balance to the holder), where law requires it, e.g. California below $10. */
  readonly cashOut: CashOutPolicy;
  /** Whether a card may be deactivated while it still holds value (the value stays a liability). */
  readonly deactivation: DeactivationPolicy;
  /** Fraud rules fed by the ledger stream (functions/core/fraud-rules.ts); defaults per currency. */
  readonly fraudRules: FraudRules;
  /**
   * Failed-check limits for the merchants of this program that set none themselves (the strictest of
   * their programs' applies; core/check-limits.ts).
   */
  readonly checkLimits?: CheckLimits;
  /**
   * The e-gift designs its digital cards may be sent with (ids of the retailer's artwork); an e-gift order
   * or bulk row naming another design is refused. None: the program offers no design to choose.
   */
  readonly designs?: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function addMonths(from: Date, months: number): Date {
  const result = new Date(from.getTime());
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}

/**
 * The expiry a card gets when issued, or when loaded under a last-load policy; undefined = never. A load
 * only ever moves an expiry later: a program whose months were shortened, or a card given a longer
 * expiry before, keeps the later date (funds promised until then stay spendable until then).
 */
export function expiryAfter(
  policy: ExpiryPolicy,
  event: 'ISSUE' | 'LOAD',
  now: Date,
  current: string | undefined,
): string | undefined {
  const later = (computed: string) => (current !== undefined && current > computed ? current : computed);
  switch (policy.type) {
    case 'NONE':
      return event === 'ISSUE' ? undefined : current;
    case 'MONTHS_AFTER_ISSUE':
      return event === 'ISSUE' ? addMonths(now, policy.months).toISOString() : current;
    case 'MONTHS_AFTER_LAST_LOAD':
      return later(addMonths(now, policy.months).toISOString());
    case 'US_CARD_ACT':
      return later(addMonths(now, 60).toISOString());
  }
}

/** A load (or an activation with value) must sit within the program's min and max load. */
export function checkLoadAmount(program: Program, amount: number): void {
  if (amount < program.minLoad || amount > program.maxLoad) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      `Loads in this program must be between ${formatAmount(program.minLoad, program.currency)} and ${formatAmount(
        program.maxLoad,
        program.currency,
      )} ${program.currency}.`,
    );
  }
}

export function checkMaxBalance(program: Program, balanceAfter: number): void {
  if (balanceAfter > program.maxBalance) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      `The balance would exceed this program's maximum of ${formatAmount(program.maxBalance, program.currency)} ${
        program.currency
      }.`,
    );
  }
}

/** A program's limits must nest: 1 <= minLoad <= maxLoad <= maxBalance. */
export function checkProgramRules(program: Pick<Program, 'minLoad' | 'maxLoad' | 'maxBalance'>): void {
  const errors = [];
  if (program.minLoad > program.maxLoad)
    errors.push({ field: 'minLoad', message: 'must not exceed maxLoad' });
  if (program.maxLoad > program.maxBalance)
    errors.push({ field: 'maxLoad', message: 'must not exceed maxBalance' });
  if (errors.length > 0)
    throw new DomainError('VALIDATION_FAILED', 'The program limits do not nest.', errors);
}

export const DESIGN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_PROGRAM_DESIGNS = 100;

/** Why a design may not be chosen for a card of the program; undefined when it may. */
export function designProblem(program: Pick<Program, 'designs'>, designId: string): string | undefined {
  const designs = program.designs ?? [];
  if (designs.includes(designId)) return undefined;
  if (designs.length === 0) return 'the program offers no designs';
  return `not one of the program's designs (${designs.slice(0, 10).join(', ')}${designs.length > 10 ? ', ...' : ''})`;
}
