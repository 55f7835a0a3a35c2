import type { Card, OperationContext } from '../../functions/core/card';
import { DomainError } from '../../functions/core/errors';
import { defaultFraudRules } from '../../functions/core/fraud-rules';
import type { Program } from '../../functions/core/program';

/** Fixed clock for every unit test: nothing here reads the real time. */
export const NOW = new Date('2025-03-15T12:00:00.000Z');
export const NOW_ISO = NOW.toISOString();
export const EARLIER_ISO = '2025-01-10T08:30:00.000Z';

/** A well-formed card id (gc_ + 26 lower-case base32 characters). */
export const CARD_ID = 'gc_0123456789abcdefghjkmnpqrs';
export const OTHER_CARD_ID = 'gc_zyxwvtsrqpnmkjhgfedcba9876';

/** A USD program with roomy limits unless told otherwise. */
export function makeProgram(overrides: Partial<Program> = {}): Program {
  return {
    id: 'prg_test',
    name: 'Test program',
    currency: 'USD',
    codeFormat: { alphabet: 'NUMERIC_LUHN', length: 16, prefix: '' },
    maxCards: 1_000_000,
    pinPolicy: 'NEVER',
    minLoad: 100,
    maxLoad: 100_000,
    maxBalance: 1_000_000,
    expiryPolicy: { type: 'NONE' },
    cashOut: { enabled: false },
    deactivation: 'ALLOW_WITH_BALANCE',
    fraudRules: defaultFraudRules('USD'),
    createdAt: EARLIER_ISO,
    updatedAt: EARLIER_ISO,
    ...overrides,
  };
}

/** An ACTIVE USD card holding 50.00 after three entries; frozen so a plan that mutates it throws. */
export function makeCard(overrides: Partial<Card> = {}): Card {
  return Object.freeze({
    id: CARD_ID,
    programId: 'prg_test',
    type: 'DIGITAL',
    status: 'ACTIVE',
    currency: 'USD',
    balance: 5000,
    available: 5000,
    last4: '1486',
    seq: 3,
    createdAt: EARLIER_ISO,
    updatedAt: EARLIER_ISO,
    activatedAt: EARLIER_ISO,
    ...overrides,
  } satisfies Card);
}

export function staffContext(overrides: Partial<OperationContext> = {}): OperationContext {
  return {
    actor: { type: 'staff', id: 'staff-1', role: 'support' },
    request: {},
    now: NOW,
    ...overrides,
  };
}

export function merchantContext(overrides: Partial<OperationContext> = {}): OperationContext {
  return {
    actor: { type: 'merchant', id: 'mer_1', keyId: 'key_1' },
    request: {},
    now: NOW,
    ...overrides,
  };
}

/** Runs `fn` and returns the DomainError it throws; fails the test when it throws nothing or something else. */
export function domainErrorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, but nothing was thrown');
}

/** The machine code of the DomainError `fn` throws. */
export const errorCodeOf = (fn: () => unknown): string => domainErrorOf(fn).code;

/** A small deterministic PRNG (mulberry32), so randomised tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
