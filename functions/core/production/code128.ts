import { PrinterDataError } from './printer-data-error';

/**
 * Code 128 (ISO/IEC 15417) as symbol values: a start symbol, the data symbols, the check symbol and the
 * stop symbol. The printer's barcode engine draws the bars from these values, so the subset choice and
 * the check symbol are ours, not each printer's.
 *
 * Subsets: A (upper case, digits, controls), B (upper and lower case, digits), C (digit pairs 00-99).
 * Subset selection follows ISO/IEC 15417 Annex E, without Shift:
 * - start with C when the data starts with four or more digits (or is exactly two digits); else A when a
 *   control character comes before any lower-case letter; else B;
 * - in A or B, a run of four or more digits switches to C: before the run when its length is even,
 *   after its first digit when odd;
 * - in C, anything but a digit pair switches back to A or B (A when a control character comes before
 *   any lower-case letter).
 * Check symbol: (start value + the sum of each data symbol's value times its position, 1-based) mod 103.
 */
export const CODE128_START_A = 103;
export const CODE128_START_B = 104;
export const CODE128_START_C = 105;
export const CODE128_STOP = 106;
const CODE_C = 99;
const CODE_B = 100;
const CODE_A = 101;
const SHIFT = 98;
/** Data characters a payload may hold: a barcode on a card is read by a scanner at a till. */
export const CODE128_MAX_DATA_CHARACTERS = 48;

type Subset = 'A' | 'B' | 'C';

const START_OF: Record<Subset, number> = { A: CODE128_START_A, B: CODE128_START_B, C: CODE128_START_C };
const SWITCH_TO: Record<Subset, number> = { A: CODE_A, B: CODE_B, C: CODE_C };

const isDigit = (text: string, at: number): boolean => {
  const code = text.charCodeAt(at);
  return code >= 0x30 && code <= 0x39;
};

function digitRun(text: string, from: number): number {
  let end = from;
  while (end < text.length && isDigit(text, end)) end += 1;
  return end - from;
}

/** A or B for what follows `from`: A only when a control character comes before a lower-case letter. */
function letterSubset(text: string, from: number): Subset {
  for (let at = from; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code < 0x20) return 'A';
    if (code >= 0x60) return 'B';
  }
  return 'B';
}

function valueIn(subset: 'A' | 'B', code: number): number {
  if (subset === 'B') return code - 0x20;
  return code < 0x20 ? code + 64 : code - 0x20;
}

const fitsSubset = (subset: 'A' | 'B', code: number): boolean =>
  subset === 'A' ? code < 0x60 : code >= 0x20;

function assertEncodable(text: string): void {
  if (text.length === 0 || text.length > CODE128_MAX_DATA_CHARACTERS) {
    throw new PrinterDataError(
      'CODE128_TOO_LONG',
      `A Code 128 payload holds 1 to ${CODE128_MAX_DATA_CHARACTERS} characters; this one has ${text.length}`,
    );
  }
  if ([...text].some((character) => character.charCodeAt(0) > 0x7f)) {
    throw new PrinterDataError('CODE128_CHARACTER', 'Code 128 carries ASCII characters only');
  }
}

function startSubset(text: string): Subset {
  const run = digitRun(text, 0);
  if (run >= 4 || (run === 2 && text.length === 2)) return 'C';
  return letterSubset(text, 0);
}

export function code128CheckSymbol(startAndData: readonly number[]): number {
  let sum = 0;
  startAndData.forEach((value, position) => {
    sum += value * Math.max(position, 1);
  });
  return sum % 103;
}

/** Symbol values of `text`: start, data, check, stop. */
export function encodeCode128(text: string): number[] {
  assertEncodable(text);
  let subset = startSubset(text);
  const symbols = [START_OF[subset]];
  let at = 0;
  while (at < text.length) {
    const run = digitRun(text, at);
    if (subset === 'C') {
      if (run >= 2) {
        symbols.push(Number(text.slice(at, at + 2)));
        at += 2;
        continue;
      }
      subset = letterSubset(text, at);
      symbols.push(SWITCH_TO[subset]);
      continue;
    }
    if (run >= 4) {
      // An odd run keeps its first digit in A/B so that C gets whole pairs.
      if (run % 2 === 1) symbols.push(valueIn(subset, text.charCodeAt(at++)));
      subset = 'C';
      symbols.push(CODE_C);
      continue;
    }
    const code = text.charCodeAt(at);
    if (!fitsSubset(subset, code)) {
      subset = subset === 'A' ? 'B' : 'A';
      symbols.push(SWITCH_TO[subset]);
    }
    symbols.push(valueIn(subset, code));
    at += 1;
  }
  symbols.push(code128CheckSymbol(symbols), CODE128_STOP);
  return symbols;
}

function decodeLetter(subset: 'A' | 'B', value: number): string {
  if (value > 95) throw new PrinterDataError('CODE128_FORMAT', 'Code 128 function characters are not used');
  if (subset === 'A' && value >= 64) return String.fromCharCode(value - 64);
  return String.fromCharCode(value + 0x20);
}

function subsetOfStart(start: number | undefined): Subset {
  if (start === CODE128_START_A) return 'A';
  if (start === CODE128_START_B) return 'B';
  if (start === CODE128_START_C) return 'C';
  throw new PrinterDataError('CODE128_FORMAT', 'Code 128 symbols begin with a start symbol');
}

/** Switch codes of each subset (a value in C below 100 is a digit pair). */
function switchOf(subset: Subset, value: number): Subset | undefined {
  if (subset === 'C') return value === CODE_B ? 'B' : value === CODE_A ? 'A' : undefined;
  if (value === CODE_C) return 'C';
  if (subset === 'A' && value === CODE_B) return 'B';
  if (subset === 'B' && value === CODE_A) return 'A';
  return undefined;
}

/** Text of symbol values (start, data, check, stop), after checking the check symbol. */
export function decodeCode128(symbols: readonly number[]): string {
  if (symbols.length < 4 || symbols.at(-1) !== CODE128_STOP) {
    throw new PrinterDataError('CODE128_FORMAT', 'Code 128 symbols end with a check and a stop symbol');
  }
  const body = symbols.slice(0, -2);
  if (code128CheckSymbol(body) !== symbols.at(-2)) {
    throw new PrinterDataError('CODE128_CHECK', 'Code 128 check symbol does not match its data');
  }
  let subset = subsetOfStart(body[0]);
  let text = '';
  for (let at = 1; at < body.length; at += 1) {
    const value = body[at] ?? -1;
    if (!Number.isInteger(value) || value < 0 || value > 102) {
      throw new PrinterDataError('CODE128_FORMAT', 'Code 128 data symbols are 0 to 102');
    }
    const next = switchOf(subset, value);
    if (next) {
      subset = next;
    } else if (subset === 'C') {
      if (value > 99)
        throw new PrinterDataError('CODE128_FORMAT', 'Code 128 function characters are not used');
      text += String(value).padStart(2, '0');
    } else if (value === SHIFT) {
      at += 1;
      text += decodeLetter(subset === 'A' ? 'B' : 'A', body[at] ?? 96);
    } else {
      text += decodeLetter(subset, value);
    }
  }
  return text;
}

/** Symbol values as the printer file writes them: three digits each, no separator ("105012034..."). */
export const code128SymbolText = (symbols: readonly number[]): string =>
  symbols.map((value) => String(value).padStart(3, '0')).join('');

export function code128SymbolsFromText(text: string): number[] {
  if (!/^(\d{3})+$/.test(text)) {
    throw new PrinterDataError('CODE128_FORMAT', 'Code 128 symbol text is groups of three digits');
  }
  return text.match(/\d{3}/g)?.map(Number) ?? [];
}
