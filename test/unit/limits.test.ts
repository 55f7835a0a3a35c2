import { describe, expect, it } from 'vitest';
import { planOperation } from '../../functions/core/card';
import { formatAmount, isSupportedCurrency, MAX_AMOUNT, minorUnits } from '../../functions/core/money';
import { errorCodeOf, makeCard, makeProgram, merchantContext, staffContext } from './domain-fixtures';

describe('limits that protect the books', () => {
  it('built-in object names are not currencies', () => {
    expect(errorCodeOf(() => minorUnits('toString'))).toBe('VALIDATION_FAILED');
    expect(isSupportedCurrency('constructor')).toBe(false);
    expect(isSupportedCurrency('__proto__')).toBe(false);
    expect(errorCodeOf(() => formatAmount(1234, '__proto__'))).toBe('VALIDATION_FAILED');
  });

  it('a refund that names no redemption respects the program maximum balance', () => {
    const card = makeCard({ balance: 200_000, available: 200_000 });
    const program = makeProgram({ maxBalance: 200_000 });
    expect(
      errorCodeOf(() =>
        planOperation(card, program, { type: 'REFUND', amount: MAX_AMOUNT }, merchantContext()),
      ),
    ).toBe('LIMIT_EXCEEDED');
    expect(
      errorCodeOf(() => planOperation(card, program, { type: 'REFUND', amount: 1 }, merchantContext())),
    ).toBe('LIMIT_EXCEEDED');
  });

  it('no change may lift a balance past the largest amount a card can hold', () => {
    const card = makeCard({ balance: MAX_AMOUNT, available: MAX_AMOUNT });
    expect(
      errorCodeOf(() =>
        planOperation(card, makeProgram(), { type: 'ADJUST', amount: 1, reason: 'x' }, staffContext()),
      ),
    ).toBe('LIMIT_EXCEEDED');
  });
});
