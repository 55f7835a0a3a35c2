import type { Card, OperationContext } from '../../functions/core/card';
import type { DomainError } from '../../functions/core/errors';
import type { Program } from '../../functions/core/program';
import type { IdempotencyClaim } from '../../functions/store/idempotency';
import { createProgram, type ProgramInput } from '../../functions/store/programs';

/** A USD program with roomy limits unless told otherwise. */
export function programInput(overrides: Partial<ProgramInput> = {}): ProgramInput {
  return {
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
    ...overrides,
  };
}

export const makeProgram = (overrides: Partial<ProgramInput> = {}): Promise<Program> =>
  createProgram(programInput(overrides), [], undefined);

export function staffContext(overrides: Partial<OperationContext> = {}): OperationContext {
  return {
    actor: { type: 'staff', id: 'staff-test', role: 'support' },
    request: {},
    now: new Date(),
    ...overrides,
  };
}

export function merchantContext(
  merchantId: string,
  overrides: Partial<OperationContext> = {},
): OperationContext {
  return {
    actor: { type: 'merchant', id: merchantId, keyId: 'key_test' },
    request: { channel: 'POS' },
    now: new Date(),
    ...overrides,
  };
}

export const everyone = (_card: Card): boolean => true;
export const everyProgram = (_program: Program): boolean => true;

let keyCounter = 0;
export function claim(scope = 'S:test', body = 'same'): IdempotencyClaim {
  keyCounter += 1;
  return { scope, key: `key-${Date.now()}-${keyCounter}`, requestHash: body };
}

/** The error code a promise rejects with, or 'OK': for asserting refusals by their stable code. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    return (error as DomainError).code ?? String(error);
  }
}
