import { createHmac, randomBytes } from 'node:crypto';
import { DomainError, type FieldError } from './errors';
import { base32 } from './ids';

/**
 * Card codes (the number printed on the card, the GAN). A prefix naming region and program, then
 * crypto-random symbols drawn without modulo bias, then a check character. Never stored: the card id is
 * an HMAC of the code under a secret pepper, so a lookup by code is one GetItem and a stolen table
 * reveals no code.
 *
 * Two alphabets:
 * - NUMERIC_LUHN: digits with a Luhn check digit, like a payment card number (what tills and
 *   magnetic stripes expect).
 * - UNAMBIGUOUS: 30 symbols, the digits 2-9 and the letters without I, L, O and U. Nothing that looks
 *   like another symbol is ever printed (no 0/O, no 1/I/L; no U, as in Crockford's base 32, so that
 *   fewer words are spelled by chance). Crockford's alphabet has 32 symbols because it keeps 0 and 1 and
 *   maps O, I and L onto them when reading; here the lookalikes are not printed at all, so a typed 0, O,
 *   1, I, L or U is simply not part of any code (the code is NOT_FOUND, like any other typo): there is
 *   nothing to map them to. The check character is Luhn mod 30 over the symbols' positions.
 *
 * What people type is normalised before anything else: spaces and dashes dropped, ASCII letters
 * upper-cased (codes are case-insensitive).
 */
export type CodeAlphabet = 'NUMERIC_LUHN' | 'UNAMBIGUOUS';
export const CODE_ALPHABETS: readonly CodeAlphabet[] = ['NUMERIC_LUHN', 'UNAMBIGUOUS'];

/** Each alphabet's symbols, in the order that gives them their value for the check character. */
export const CODE_SYMBOLS: Readonly<Record<CodeAlphabet, string>> = {
  NUMERIC_LUHN: '0123456789',
  UNAMBIGUOUS: '23456789ABCDEFGHJKMNPQRSTVWXYZ',
};

/** Total code lengths (prefix and check character included) a format may have. */
export const CODE_LENGTHS: Readonly<Record<CodeAlphabet, { readonly min: number; readonly max: number }>> = {
  NUMERIC_LUHN: { min: 12, max: 24 },
  UNAMBIGUOUS: { min: 8, max: 24 },
};

export interface CodeFormat {
  readonly alphabet: CodeAlphabet;
  /** Total length including prefix and check character. */
  readonly length: number;
  /** Leading symbols that identify region and program (symbols of the alphabet). */
  readonly prefix: string;
}

/** A format as older callers spell it: without an alphabet it is NUMERIC_LUHN. */
export type CodeFormatLike = Pick<CodeFormat, 'length' | 'prefix'> & { readonly alphabet?: CodeAlphabet };

/**
 * The format of programs created before formats were configurable (stored without `alphabet`): 16 digits,
 * no prefix. 15 random digits give 10^6 cards at 10^9 unissued codes per issued code.
 */
export const LEGACY_CODE_FORMAT: CodeFormat = { alphabet: 'NUMERIC_LUHN', length: 16, prefix: '' };

/**
 * Guessing a code must stay hopeless however many cards a program issues: at least this many codes of
 * the format must remain unissued for each issued one (a random guess hits a card at most once in 10^9).
 */
export const UNISSUED_PER_ISSUED = 10n ** 9n;

/**
 * The most cards a program may issue unless it says otherwise: ten million. With the one-digit region
 * prefix that gives 18-digit numeric codes (16 random digits and the Luhn digit), inside the 19 digits
 * of an ISO/IEC 7812 card number that tills and magnetic stripes accept, with room for a one-digit
 * program part; 10^8 would take all 19. A program expecting more sets maxCards and gets longer codes.
 */
export const DEFAULT_MAX_CARDS = 10_000_000;
/** The largest maxCards a program may set (the longest codes allow 10^13; beyond any real program). */
export const MAX_MAX_CARDS = 1_000_000_000_000;

const alphabetOf = (format: CodeFormatLike): CodeAlphabet => format.alphabet ?? 'NUMERIC_LUHN';

/**
 * `count` uniformly random symbols: a byte is accepted only below the largest multiple of the alphabet
 * size that fits in a byte (250 for digits, 240 for the 30 symbols) and maps to byte % size, so every
 * symbol has exactly the same number of accepted byte values (no modulo bias).
 */
export function randomSymbols(
  symbols: string,
  count: number,
  random: (size: number) => Uint8Array = randomBytes,
): string {
  const size = symbols.length;
  if (size < 2 || size > 256) throw new Error('An alphabet has 2 to 256 symbols');
  const limit = 256 - (256 % size);
  let drawn = '';
  while (drawn.length < count) {
    for (const byte of random(count * 2)) {
      if (byte < limit && drawn.length < count) drawn += symbols[byte % size];
    }
  }
  return drawn;
}

/** One uniformly random decimal digit per accepted byte: bytes >= 250 are rejected (no modulo bias). */
export const randomDigits = (count: number, random: (size: number) => Uint8Array = randomBytes): string =>
  randomSymbols(CODE_SYMBOLS.NUMERIC_LUHN, count, random);

/**
 * Luhn mod N: from the right, every second symbol's value is doubled and its base-N digits summed; the
 * check symbol brings the total to a multiple of N. For digits (N = 10) this is the usual Luhn digit.
 * Catches every single-symbol error and almost every swap of neighbours.
 */
export function checkCharacter(payload: string, alphabet: CodeAlphabet): string {
  const symbols = CODE_SYMBOLS[alphabet];
  const n = symbols.length;
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    const value = symbols.indexOf(payload[payload.length - 1 - i] ?? '');
    if (value < 0) throw new Error(`Not a symbol of ${alphabet}`);
    const addend = i % 2 === 0 ? value * 2 : value;
    sum += Math.floor(addend / n) + (addend % n);
  }
  return symbols[(n - (sum % n)) % n] ?? '';
}

export const luhnCheckDigit = (payload: string): string => checkCharacter(payload, 'NUMERIC_LUHN');

/** Only symbols of the alphabet, and the last one is the check character of the others. */
export function hasValidCheck(code: string, alphabet: CodeAlphabet): boolean {
  if (code.length < 2) return false;
  const symbols = CODE_SYMBOLS[alphabet];
  for (const symbol of code) if (!symbols.includes(symbol)) return false;
  return checkCharacter(code.slice(0, -1), alphabet) === code.slice(-1);
}

export function isValidLuhn(code: string): boolean {
  return /^\d{2,}$/.test(code) && hasValidCheck(code, 'NUMERIC_LUHN');
}

export function generateCode(
  format: CodeFormatLike = LEGACY_CODE_FORMAT,
  random: (size: number) => Uint8Array = randomBytes,
): string {
  const alphabet = alphabetOf(format);
  const payload =
    format.prefix + randomSymbols(CODE_SYMBOLS[alphabet], format.length - format.prefix.length - 1, random);
  return payload + checkCharacter(payload, alphabet);
}

/** What people type: spaces and dashes are ignored, letters are upper-cased (ASCII only). */
export function normalizeCode(input: string): string {
  return input.replace(/[\s-]/g, '').replace(/[a-z]/g, (letter) => letter.toUpperCase());
}

/**
 * A (normalised) code worth looking up: of a length some format allows, in one alphabet, with a valid
 * check character. A lookup does not know the program, so any alphabet will do.
 */
export function isPlausibleCode(code: string): boolean {
  return CODE_ALPHABETS.some(
    (alphabet) =>
      code.length >= CODE_LENGTHS[alphabet].min &&
      code.length <= CODE_LENGTHS[alphabet].max &&
      hasValidCheck(code, alphabet),
  );
}

/** Symbols of a code that are random: its length minus the prefix and the check character. */
export const randomLength = (format: CodeFormatLike): number => format.length - format.prefix.length - 1;

/** How many codes a format can produce: alphabet size ^ random symbols. */
export function codeSpace(format: CodeFormatLike): bigint {
  const random = randomLength(format);
  return random < 0 ? 0n : BigInt(CODE_SYMBOLS[alphabetOf(format)].length) ** BigInt(random);
}

/** The most cards a format allows while keeping 10^9 unissued codes per issued one (capped). */
export function maxCardsFor(format: CodeFormatLike): number {
  const allowed = codeSpace(format) / UNISSUED_PER_ISSUED;
  return allowed > BigInt(MAX_MAX_CARDS) ? MAX_MAX_CARDS : Number(allowed);
}

/** The shortest code of this alphabet and prefix that keeps the guarantee at maxCards (maybe too long). */
export function minimumCodeLength(alphabet: CodeAlphabet, prefix: string, maxCards: number): number {
  const needed = BigInt(Math.max(1, Math.floor(maxCards))) * UNISSUED_PER_ISSUED;
  const size = BigInt(CODE_SYMBOLS[alphabet].length);
  let random = 1;
  while (size ** BigInt(random) < needed) random++;
  return Math.max(CODE_LENGTHS[alphabet].min, prefix.length + random + 1);
}

/**
 * Region code `d` (one digit, one deployment per region) as the first symbol of a prefix: the digit
 * itself in numeric codes; in UNAMBIGUOUS codes, which have no 0 or 1, the d-th letter of ABCDEFGHJK
 * (0 -> A, 1 -> B, ... 9 -> K).
 */
export function regionSymbol(alphabet: CodeAlphabet, regionCode: string): string {
  if (!/^\d$/.test(regionCode)) throw new Error('A region code is one digit');
  return alphabet === 'NUMERIC_LUHN' ? regionCode : ('ABCDEFGHJK'[Number(regionCode)] ?? '');
}

/**
 * A program's format from what its admin asked for: NUMERIC_LUHN unless told otherwise; the prefix is
 * the region's symbol unless given (a given one must start with it, then any program part); the length
 * is the shortest that keeps 10^9 unissued codes per issued code at maxCards, unless given.
 */
export function codeFormatFrom(
  requested: Partial<CodeFormat> | undefined,
  maxCards: number,
  regionCode: string,
): CodeFormat {
  const alphabet = requested?.alphabet ?? 'NUMERIC_LUHN';
  const prefix = requested?.prefix ?? regionSymbol(alphabet, regionCode);
  const length =
    requested?.length ?? Math.min(CODE_LENGTHS[alphabet].max, minimumCodeLength(alphabet, prefix, maxCards));
  return { alphabet, length, prefix };
}

export interface CodeFormatCheck {
  /** Which field a too-small code space is blamed on: the one the caller changed. */
  readonly blame?: 'codeFormat.length' | 'codeFormat.prefix' | 'maxCards';
  /** When given, the prefix must start with this region's symbol. */
  readonly regionCode?: string;
}

/** Every reason a format cannot serve a program of up to `maxCards` cards; empty when it can. */
export function codeFormatErrors(
  format: CodeFormat,
  maxCards: number,
  options: CodeFormatCheck = {},
): FieldError[] {
  const errors: FieldError[] = [];
  if (!CODE_ALPHABETS.includes(format.alphabet)) {
    return [{ field: 'codeFormat.alphabet', message: `must be one of ${CODE_ALPHABETS.join(', ')}` }];
  }
  const symbols = CODE_SYMBOLS[format.alphabet];
  const { min, max } = CODE_LENGTHS[format.alphabet];
  if (!Number.isInteger(maxCards) || maxCards < 1 || maxCards > MAX_MAX_CARDS)
    errors.push({ field: 'maxCards', message: `must be an integer from 1 to ${MAX_MAX_CARDS}` });
  if (!Number.isInteger(format.length) || format.length < min || format.length > max)
    errors.push({
      field: 'codeFormat.length',
      message: `must be an integer from ${min} to ${max} for ${format.alphabet}`,
    });
  if ([...format.prefix].some((symbol) => !symbols.includes(symbol)))
    errors.push({ field: 'codeFormat.prefix', message: `may contain only the symbols ${symbols}` });
  else if (options.regionCode !== undefined) {
    const region = regionSymbol(format.alphabet, options.regionCode);
    if (!format.prefix.startsWith(region))
      errors.push({
        field: 'codeFormat.prefix',
        message: `must start with ${region}, this region's code (${options.regionCode}) in ${format.alphabet}, then any program part`,
      });
  }
  if (errors.length > 0) return errors;
  if (randomLength(format) < 1) {
    return [
      { field: 'codeFormat.prefix', message: 'leaves no room for random symbols and the check character' },
    ];
  }
  if (codeSpace(format) < BigInt(maxCards) * UNISSUED_PER_ISSUED) {
    const needed = minimumCodeLength(format.alphabet, format.prefix, maxCards);
    const fits = maxCardsFor(format);
    const remedy =
      needed <= max
        ? `needs length >= ${needed} with this prefix, or maxCards <= ${fits}`
        : `cannot be reached within ${max} symbols with this prefix; lower maxCards to at most ${fits}`;
    errors.push({
      field: options.blame ?? 'codeFormat.length',
      message:
        `${format.length} symbols leave ${randomLength(format)} random ${format.alphabet} symbols, fewer than ` +
        `10^9 unissued codes per issued code at maxCards ${maxCards}: ${remedy}`,
    });
  }
  return errors;
}

/** Refuses (VALIDATION_FAILED, naming the fields) a format that cannot keep the guarantee. */
export function checkCodeFormat(format: CodeFormat, maxCards: number, options: CodeFormatCheck = {}): void {
  const errors = codeFormatErrors(format, maxCards, options);
  if (errors.length > 0)
    throw new DomainError('VALIDATION_FAILED', 'The code format cannot serve this program.', errors);
}

export function cardIdForCode(code: string, pepper: string): string {
  const mac = createHmac('sha256', pepper).update(`card-code:${code}`).digest();
  return `gc_${base32(mac).slice(0, 26)}`;
}

export const last4 = (code: string): string => code.slice(-4);
