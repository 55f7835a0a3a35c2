/**
 * Money on screen. Amounts are integer minor units everywhere; they are formatted and parsed as decimal
 * strings (never through a float), with the currency's own number of decimals.
 */
const decimalsCache = new Map<string, number>();

export function currencyDecimals(currency: string): number {
  let decimals = decimalsCache.get(currency);
  if (decimals === undefined) {
    decimals =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2;
    decimalsCache.set(currency, decimals);
  }
  return decimals;
}

/** "1234.56" for 123456 minor units of a 2-decimal currency. */
export function minorToDecimal(minor: number, currency: string): string {
  const decimals = currencyDecimals(currency);
  const negative = minor < 0;
  const digits = Math.abs(minor)
    .toString()
    .padStart(decimals + 1, '0');
  const whole = decimals === 0 ? digits : digits.slice(0, -decimals);
  const fraction = decimals === 0 ? '' : `.${digits.slice(-decimals)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

export function formatMoney(minor: number, currency: string, locale?: string): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  // Intl formats decimal strings exactly (no float rounding on large amounts).
  return (format.format as (value: string) => string)(minorToDecimal(minor, currency));
}

/** Minor units from what a person typed ("12.5", "12.50", "-3"), or undefined when it is not an amount. */
export function parseAmount(text: string, currency: string, options: { signed?: boolean } = {}) {
  const decimals = currencyDecimals(currency);
  const match = /^\s*([+-]?)(\d{1,12})(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (fraction.length > decimals) return undefined;
  if (sign === '-' && !options.signed) return undefined;
  const minor = Number(whole) * 10 ** decimals + Number(fraction.padEnd(decimals, '0') || '0');
  return sign === '-' ? -minor : minor;
}
