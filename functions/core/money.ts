import { DomainError } from './errors';

/**
 * Money is an integer count of the currency's minor units (cents for USD, yen for JPY, fils for KWD).
 * ISO 4217 minor-unit exponents for the currencies a program may use.
 */
const MINOR_UNITS: Readonly<Record<string, number>> = {
  AED: 2,
  AUD: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  MYR: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PHP: 2,
  PLN: 2,
  QAR: 2,
  RON: 2,
  SAR: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TND: 3,
  TRY: 2,
  TWD: 2,
  UAH: 2,
  USD: 2,
  VND: 0,
  ZAR: 2,
};

export const SUPPORTED_CURRENCIES: readonly string[] = Object.keys(MINOR_UNITS);

/** Largest amount a single balance may hold: well inside Number.MAX_SAFE_INTEGER, so sums stay exact. */
export const MAX_AMOUNT = 1_000_000_000_000;

export function minorUnits(currency: string): number {
  // Own keys only: 'toString' or '__proto__' are not currencies.
  const exponent = Object.hasOwn(MINOR_UNITS, currency) ? MINOR_UNITS[currency] : undefined;
  if (exponent === undefined) {
    throw new DomainError('VALIDATION_FAILED', `Currency ${currency} is not supported.`, [
      { field: 'currency', message: 'unsupported ISO 4217 currency' },
    ]);
  }
  return exponent;
}

export function isSupportedCurrency(currency: string): boolean {
  return Object.hasOwn(MINOR_UNITS, currency);
}

/** "1234" USD -> "12.34"; for messages and exports, never for arithmetic. */
export function formatAmount(amount: number, currency: string): string {
  const exponent = minorUnits(currency);
  const sign = amount < 0 ? '-' : '';
  const digits = Math.abs(amount)
    .toString()
    .padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
