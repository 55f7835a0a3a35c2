import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CODE128_MAX_DATA_CHARACTERS,
  code128SymbolsFromText,
  code128SymbolText,
  decodeCode128,
  encodeCode128,
} from '../../../functions/core/production/code128';
import { reasonOf } from './reason-of';

/**
 * Hand-computed vectors: start (103 A, 104 B, 105 C), data, check = (start + sum of value x position)
 * mod 103, stop 106. E.g. 1234567890: 105 + 12 + 34x2 + 56x3 + 78x4 + 90x5 = 1115 = 10x103 + 85.
 */
const VECTORS: ReadonlyArray<readonly [string, number[]]> = [
  ['1234567890', [105, 12, 34, 56, 78, 90, 85, 106]],
  // Three digits stay in B (a switch to C pays from four).
  ['PJJ123C', [104, 48, 42, 42, 17, 18, 19, 35, 55, 106]],
  // Five digits: start C for 12 34, then B for the odd 5.
  ['12345', [105, 12, 34, 100, 21, 54, 106]],
  // An odd run inside B keeps its first digit in B, then C for 23 45.
  ['AB12345', [104, 33, 34, 17, 99, 23, 45, 7, 106]],
  // A control character before any lower case: start A (tab is 9 + 64).
  ['\tA', [103, 73, 33, 36, 106]],
  ['\ta', [103, 73, 100, 65, 56, 106]],
  // Exactly two digits: start C; check 105 + 42 = 147 = 103 + 44.
  ['42', [105, 42, 44, 106]],
];

describe('Code 128', () => {
  it.each(VECTORS)('encodes %j to its hand-computed symbols and back', (text, symbols) => {
    expect(encodeCode128(text)).toEqual(symbols);
    expect(decodeCode128(symbols)).toBe(text);
  });

  it('writes numeric card codes in subset C: half as many symbols as digits', () => {
    const symbols = encodeCode128('600012345678901234');
    expect(symbols[0]).toBe(105);
    expect(symbols).toHaveLength(18 / 2 + 3);
  });

  it('round-trips any ASCII text and any digit string, through the three-digit symbol text too', () => {
    const ascii = fc.string({
      unit: fc.integer({ min: 0, max: 127 }).map((code) => String.fromCharCode(code)),
    });
    const text = fc.oneof(ascii, fc.stringMatching(/^[0-9A-Z]*$/), fc.stringMatching(/^\d*$/));
    fc.assert(
      fc.property(
        text.filter((value) => value.length >= 1 && value.length <= CODE128_MAX_DATA_CHARACTERS),
        (value) => {
          const symbols = encodeCode128(value);
          expect(decodeCode128(code128SymbolsFromText(code128SymbolText(symbols)))).toBe(value);
          expect(symbols.every((symbol) => Number.isInteger(symbol) && symbol >= 0 && symbol <= 106)).toBe(
            true,
          );
        },
      ),
    );
  });

  it('detects any single changed data symbol by its check symbol', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9A-Z]{1,24}$/),
        fc.nat(),
        fc.integer({ min: 1, max: 101 }),
        (code, seed, delta) => {
          const symbols = encodeCode128(code);
          const at = 1 + (seed % (symbols.length - 3));
          const corrupted = [...symbols];
          corrupted[at] = ((symbols[at] ?? 0) + delta) % 103;
          expect(reasonOf(() => decodeCode128(corrupted))).toBe('CODE128_CHECK');
        },
      ),
    );
  });

  it('reads a Shift to the other subset for one character', () => {
    // Start B, Shift, A's 73 (a tab), B's 'a'; check 104 + 98 + 73x2 + 65x3 = 543 = 5x103 + 28.
    expect(decodeCode128([104, 98, 73, 65, 28, 106])).toBe('\ta');
  });

  it('refuses empty, too long and non-ASCII payloads, and symbols without start or stop', () => {
    expect(reasonOf(() => encodeCode128(''))).toBe('CODE128_TOO_LONG');
    expect(reasonOf(() => encodeCode128('1'.repeat(CODE128_MAX_DATA_CHARACTERS + 1)))).toBe(
      'CODE128_TOO_LONG',
    );
    expect(reasonOf(() => encodeCode128('CAFÉ'))).toBe('CODE128_CHARACTER');
    expect(reasonOf(() => decodeCode128([12, 34, 46, 106]))).toBe('CODE128_FORMAT');
    expect(reasonOf(() => decodeCode128([105, 12, 34, 56]))).toBe('CODE128_FORMAT');
    expect(reasonOf(() => code128SymbolsFromText('1050'))).toBe('CODE128_FORMAT');
  });
});
