import { describe, expect, it } from 'vitest';
import {
  formatAmount,
  isSupportedCurrency,
  MAX_AMOUNT,
  minorUnits,
  SUPPORTED_CURRENCIES,
} from '../../functions/core/money';
import { domainErrorOf } from './domain-fixtures';

describe('minorUnits', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['ISK', 0],
    ['CLP', 0],
    ['VND', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['TND', 3],
  ])('%s has %i decimals', (currency, exponent) => {
    expect(minorUnits(currency)).toBe(exponent);
  });

  it.each(['XXX', 'usd', 'US', 'USDD', '', 'BTC', ' USD', 'USD '])(
    'refuses the unsupported currency %j with VALIDATION_FAILED on the currency field',
    (currency) => {
      const error = domainErrorOf(() => minorUnits(currency));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.status).toBe(400);
      expect(error.fieldErrors).toEqual([{ field: 'currency', message: expect.any(String) }]);
    },
  );

  it('knows every supported currency, each as an upper-case ISO code with 0, 2 or 3 decimals', () => {
    expect(SUPPORTED_CURRENCIES.length).toBeGreaterThan(30);
    for (const currency of SUPPORTED_CURRENCIES) {
      expect(currency).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3]).toContain(minorUnits(currency));
      expect(isSupportedCurrency(currency)).toBe(true);
    }
  });
});

describe('isSupportedCurrency', () => {
  it('is false for unknown codes', () => {
    for (const currency of ['XXX', 'usd', '', 'EURO', 'JP']) {
      expect(isSupportedCurrency(currency), currency).toBe(false);
    }
  });
});

describe('formatAmount', () => {
  it.each([
    [0, 'USD', '0.00'],
    [1, 'USD', '0.01'],
    [99, 'USD', '0.99'],
    [100, 'USD', '1.00'],
    [1234, 'USD', '12.34'],
    [100_000_00, 'EUR', '100000.00'],
    [-1, 'USD', '-0.01'],
    [-5, 'USD', '-0.05'],
    [-1234, 'USD', '-12.34'],
    [0, 'JPY', '0'],
    [5, 'JPY', '5'],
    [1234, 'JPY', '1234'],
    [-1234, 'JPY', '-1234'],
    [0, 'KWD', '0.000'],
    [5, 'KWD', '0.005'],
    [50, 'KWD', '0.050'],
    [1234, 'KWD', '1.234'],
    [1_000_000, 'KWD', '1000.000'],
    [-1, 'KWD', '-0.001'],
    [-1234, 'KWD', '-1.234'],
    [MAX_AMOUNT, 'USD', '10000000000.00'],
  ])('formats %i %s as %s', (amount, currency, text) => {
    expect(formatAmount(amount, currency)).toBe(text);
  });

  it('never prints a negative zero', () => {
    expect(formatAmount(-0, 'USD')).toBe('0.00');
    expect(formatAmount(-0, 'JPY')).toBe('0');
  });

  it('refuses an unsupported currency', () => {
    expect(domainErrorOf(() => formatAmount(100, 'XXX')).code).toBe('VALIDATION_FAILED');
  });

  it('round-trips through the decimal text for every supported currency', () => {
    for (const currency of SUPPORTED_CURRENCIES) {
      for (const amount of [0, 7, 1234, 987_654_321, -42]) {
        const text = formatAmount(amount, currency);
        expect(Math.round(Number(text) * 10 ** minorUnits(currency)), `${amount} ${currency}`).toBe(amount);
      }
    }
  });
});

describe('MAX_AMOUNT', () => {
  it('keeps sums of two balances exact', () => {
    expect(Number.isSafeInteger(MAX_AMOUNT * 2)).toBe(true);
    expect(MAX_AMOUNT).toBe(1_000_000_000_000);
  });
});
