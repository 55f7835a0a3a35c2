import { describe, expect, it } from 'vitest';
import {
  CODE_LENGTHS,
  CODE_SYMBOLS,
  type CodeFormat,
  cardIdForCode,
  checkCharacter,
  checkCodeFormat,
  codeFormatErrors,
  codeFormatFrom,
  codeSpace,
  DEFAULT_MAX_CARDS,
  generateCode,
  hasValidCheck,
  isPlausibleCode,
  isValidLuhn,
  LEGACY_CODE_FORMAT,
  last4,
  luhnCheckDigit,
  MAX_MAX_CARDS,
  maxCardsFor,
  minimumCodeLength,
  normalizeCode,
  randomDigits,
  randomSymbols,
  regionSymbol,
} from '../../functions/core/card-code';
import { DomainError } from '../../functions/core/errors';
import { seededRandom } from './domain-fixtures';

/** A byte source that hands out the given bytes in order, recording each size asked for. */
function scriptedBytes(batches: readonly (readonly number[])[]) {
  const sizes: number[] = [];
  let next = 0;
  const random = (size: number): Uint8Array => {
    sizes.push(size);
    const batch = batches[next++];
    if (!batch) throw new Error('the byte script ran out');
    return Uint8Array.from(batch);
  };
  return { random, sizes };
}

/** Uniform bytes from a seeded PRNG: reproducible, unlike crypto. */
function seededBytes(seed: number): (size: number) => Uint8Array {
  const next = seededRandom(seed);
  return (size) => Uint8Array.from({ length: size }, () => Math.floor(next() * 256));
}

function digitCounts(digits: string): number[] {
  const counts = Array.from({ length: 10 }, () => 0);
  for (const digit of digits) counts[Number(digit)] = (counts[Number(digit)] ?? 0) + 1;
  return counts;
}

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

/** Chi-square critical value for 9 degrees of freedom at p = 0.001. */
const CHI2_9DF_P001 = 27.877;

describe('randomDigits', () => {
  it('returns exactly the number of decimal digits asked for', () => {
    for (const count of [1, 2, 15, 16, 64]) {
      const digits = randomDigits(count);
      expect(digits).toHaveLength(count);
      expect(digits).toMatch(/^\d+$/);
    }
    expect(randomDigits(0)).toBe('');
  });

  it('skips every byte from 250 to 255 and maps the others to byte % 10', () => {
    const { random } = scriptedBytes([[250, 251, 252, 253, 254, 255, 0, 9, 249, 255, 10, 123, 250, 37]]);
    expect(randomDigits(6, random)).toBe('099037');
  });

  it('asks for more bytes until enough are accepted', () => {
    const { random, sizes } = scriptedBytes([
      [255, 255, 255, 255, 255, 255, 255, 255],
      [250, 4, 251, 252, 253, 254, 255, 250],
      [7, 255, 18, 29, 30, 41],
    ]);
    expect(randomDigits(4, random)).toBe('4789');
    expect(sizes).toEqual([8, 8, 8]);
  });

  it('drops the accepted bytes it does not need', () => {
    const { random } = scriptedBytes([[1, 2, 3, 4, 5, 6, 7, 8]]);
    expect(randomDigits(3, random)).toBe('123');
  });

  it('gives each digit exactly 25 of the 250 accepted byte values, whatever bytes 250-255 do', () => {
    const everyByte = Array.from({ length: 256 }, (_, byte) => byte);
    const digits = randomDigits(250, scriptedBytes([everyByte]).random);
    expect(digitCounts(digits)).toEqual(Array.from({ length: 10 }, () => 25));
  });

  it('is uniform over many draws from a uniform byte source (chi-square, 9 df)', () => {
    const draws = 200_000;
    const digits = randomDigits(draws, seededBytes(20250315));
    const counts = digitCounts(digits);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(draws);
    expect(chiSquare(counts)).toBeLessThan(CHI2_9DF_P001);
    for (const count of counts) expect(Math.abs(count - draws / 10)).toBeLessThan(draws / 100);
  });

  it('would fail that check with plain modulo (the check is sharp enough to catch the bias)', () => {
    const bytes = seededBytes(20250315)(200_000);
    const biased = Array.from(bytes, (byte) => String(byte % 10)).join('');
    expect(chiSquare(digitCounts(biased))).toBeGreaterThan(CHI2_9DF_P001);
  });

  it('is uniform with the default crypto source too', () => {
    // p = 1e-6 threshold for 9 df, so this cannot fail by bad luck in practice.
    expect(chiSquare(digitCounts(randomDigits(100_000)))).toBeLessThan(45.6);
  });
});

describe('luhnCheckDigit and isValidLuhn', () => {
  it.each([
    ['7992739871', '3'],
    ['453957876362148', '6'],
    ['411111111111111', '1'],
    ['555555555555444', '4'],
    ['37828224631000', '5'],
    ['0', '0'],
    ['', '0'],
  ])('check digit of %j is %s', (payload, check) => {
    expect(luhnCheckDigit(payload)).toBe(check);
  });

  it.each([
    '79927398713',
    '4539578763621486',
    '4111111111111111',
    '5555555555554444',
    '378282246310005',
    '00',
    '18',
  ])('accepts the valid number %s', (code) => {
    expect(isValidLuhn(code)).toBe(true);
  });

  it.each(['79927398710', '79927398714', '4539578763621487', '4111111111111112', '12'])(
    'rejects the wrong check digit in %s',
    (code) => {
      expect(isValidLuhn(code)).toBe(false);
    },
  );

  it('detects every single-digit error in a valid number', () => {
    const valid = '4539578763621486';
    for (let position = 0; position < valid.length; position++) {
      for (let digit = 0; digit <= 9; digit++) {
        if (String(digit) === valid[position]) continue;
        const typo = valid.slice(0, position) + String(digit) + valid.slice(position + 1);
        expect(isValidLuhn(typo), typo).toBe(false);
      }
    }
  });

  it('detects swapped neighbours (other than 09/90)', () => {
    const valid = '79927398713';
    for (let position = 0; position < valid.length - 1; position++) {
      const a = valid[position] ?? '';
      const b = valid[position + 1] ?? '';
      if (a === b || `${a}${b}` === '09' || `${a}${b}` === '90') continue;
      const swapped = valid.slice(0, position) + b + a + valid.slice(position + 2);
      expect(isValidLuhn(swapped), swapped).toBe(false);
    }
  });

  it.each([
    '',
    '7',
    '7992 7398 713',
    '7992-7398713',
    '7992739871a',
    ' 79927398713',
    '79927398713\n',
    '-18',
    '１８',
  ])('rejects %j, which is not a string of at least two ASCII digits', (code) => {
    expect(isValidLuhn(code)).toBe(false);
  });
});

describe('generateCode', () => {
  it('makes 16-digit Luhn-valid codes by default (the format of programs older than formats)', () => {
    expect(LEGACY_CODE_FORMAT).toEqual({ alphabet: 'NUMERIC_LUHN', length: 16, prefix: '' });
    for (let i = 0; i < 200; i++) {
      const code = generateCode();
      expect(code).toMatch(/^\d{16}$/);
      expect(isValidLuhn(code)).toBe(true);
      expect(isPlausibleCode(code)).toBe(true);
    }
  });

  it('honours the length and the prefix, counting both in the length', () => {
    for (const format of [
      { length: 19, prefix: '603628' },
      { length: 12, prefix: '9' },
      { length: 24, prefix: '' },
      { length: 16, prefix: '77' },
    ]) {
      const code = generateCode(format);
      expect(code).toHaveLength(format.length);
      expect(code.startsWith(format.prefix)).toBe(true);
      expect(code).toMatch(/^\d+$/);
      expect(isValidLuhn(code)).toBe(true);
    }
  });

  it('does not repeat itself', () => {
    const codes = new Set(Array.from({ length: 2000 }, () => generateCode()));
    expect(codes.size).toBe(2000);
  });
});

describe('normalizeCode', () => {
  it('drops the spaces and dashes people type', () => {
    expect(normalizeCode('4539 5787 6362 1486')).toBe('4539578763621486');
    expect(normalizeCode('4539-5787-6362-1486')).toBe('4539578763621486');
    expect(normalizeCode(' 4539\t5787-\n6362 - 1486 ')).toBe('4539578763621486');
  });

  it('leaves other characters for validation to refuse', () => {
    expect(normalizeCode('4539.5787/6362')).toBe('4539.5787/6362');
    expect(isValidLuhn(normalizeCode('4539.5787.6362.1486'))).toBe(false);
  });

  it('makes a typed code valid again', () => {
    expect(isValidLuhn(normalizeCode('7992 7398 713'))).toBe(true);
  });
});

describe('isPlausibleCode and last4', () => {
  it('accepts valid codes of 12 to 24 digits only', () => {
    expect(isPlausibleCode('4539578763621486')).toBe(true);
    expect(isPlausibleCode('79927398713')).toBe(false); // 11 digits
    const twelve = `12345678901${luhnCheckDigit('12345678901')}`;
    expect(isPlausibleCode(twelve)).toBe(true);
    const payload24 = '12345678901234567890123';
    expect(isPlausibleCode(payload24 + luhnCheckDigit(payload24))).toBe(true);
    const payload25 = '123456789012345678901234';
    expect(isPlausibleCode(payload25 + luhnCheckDigit(payload25))).toBe(false);
    expect(isPlausibleCode('4539578763621487')).toBe(false);
  });

  it('shows the last four digits', () => {
    expect(last4('4539578763621486')).toBe('1486');
  });
});

describe('cardIdForCode', () => {
  const code = '4539578763621486';

  it('has the card id format', () => {
    expect(cardIdForCode(code, 'pepper-a')).toMatch(/^gc_[0-9a-z]{26}$/);
    for (let i = 0; i < 50; i++)
      expect(cardIdForCode(generateCode(), 'pepper-a')).toMatch(/^gc_[0-9a-z]{26}$/);
  });

  it('is deterministic for one pepper, so a lookup by code finds the card', () => {
    expect(cardIdForCode(code, 'pepper-a')).toBe(cardIdForCode(code, 'pepper-a'));
  });

  it('differs across peppers and across codes', () => {
    expect(cardIdForCode(code, 'pepper-a')).not.toBe(cardIdForCode(code, 'pepper-b'));
    expect(cardIdForCode(code, 'pepper-a')).not.toBe(cardIdForCode('4111111111111111', 'pepper-a'));
    const ids = new Set(
      Array.from({ length: 500 }, (_, i) => cardIdForCode(String(i).padStart(16, '0'), 'p')),
    );
    expect(ids.size).toBe(500);
  });

  it('reveals neither the code nor its last four digits', () => {
    const id = cardIdForCode(code, 'pepper-a');
    expect(id).not.toContain(code);
    expect(id).not.toContain('1486');
  });

  it('is a function of the normalised code: formatting must be removed before the lookup', () => {
    expect(cardIdForCode(normalizeCode('4539 5787 6362 1486'), 'pepper-a')).toBe(
      cardIdForCode(code, 'pepper-a'),
    );
    expect(cardIdForCode('4539 5787 6362 1486', 'pepper-a')).not.toBe(cardIdForCode(code, 'pepper-a'));
  });
});

const UNAMBIGUOUS = CODE_SYMBOLS.UNAMBIGUOUS;

function symbolCounts(drawn: string, symbols: string): number[] {
  const counts = Array.from({ length: symbols.length }, () => 0);
  for (const symbol of drawn) {
    const index = symbols.indexOf(symbol);
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}

/** Chi-square critical values for 29 degrees of freedom (30 symbols). */
const CHI2_29DF_P001 = 58.301;
const CHI2_29DF_P1E6 = 80.436;

describe('the UNAMBIGUOUS alphabet', () => {
  it('has 30 distinct symbols and none of the lookalikes 0, O, 1, I, L, U', () => {
    expect(UNAMBIGUOUS).toHaveLength(30);
    expect(new Set(UNAMBIGUOUS).size).toBe(30);
    expect(UNAMBIGUOUS).toMatch(/^[2-9A-Z]+$/);
    for (const lookalike of '0O1ILU') expect(UNAMBIGUOUS).not.toContain(lookalike);
  });
});

describe('randomSymbols', () => {
  it('skips bytes from 240 up for 30 symbols and maps the others to byte % 30', () => {
    const { random } = scriptedBytes([[240, 255, 0, 29, 30, 239, 250, 59]]);
    expect(randomSymbols(UNAMBIGUOUS, 5, random)).toBe('2Z2ZZ');
  });

  it('gives each of the 30 symbols exactly 8 of the 240 accepted byte values', () => {
    const everyByte = Array.from({ length: 256 }, (_, byte) => byte);
    const drawn = randomSymbols(UNAMBIGUOUS, 240, scriptedBytes([everyByte]).random);
    expect(symbolCounts(drawn, UNAMBIGUOUS)).toEqual(Array.from({ length: 30 }, () => 8));
  });

  it('is uniform over many draws from a uniform byte source (chi-square, 29 df)', () => {
    const draws = 300_000;
    const counts = symbolCounts(randomSymbols(UNAMBIGUOUS, draws, seededBytes(20250316)), UNAMBIGUOUS);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(draws);
    expect(chiSquare(counts)).toBeLessThan(CHI2_29DF_P001);
  });

  it('would fail that check with plain modulo (bytes 240-255 favour the first 16 symbols)', () => {
    const bytes = seededBytes(20250316)(300_000);
    const biased = Array.from(bytes, (byte) => UNAMBIGUOUS[byte % 30]).join('');
    expect(chiSquare(symbolCounts(biased, UNAMBIGUOUS))).toBeGreaterThan(CHI2_29DF_P001);
  });

  it('is uniform with the default crypto source too', () => {
    expect(chiSquare(symbolCounts(randomSymbols(UNAMBIGUOUS, 150_000), UNAMBIGUOUS))).toBeLessThan(
      CHI2_29DF_P1E6,
    );
  });

  it('draws digits exactly as randomDigits does', () => {
    const bytes = [[250, 3, 255, 7, 199, 42]];
    expect(randomSymbols(CODE_SYMBOLS.NUMERIC_LUHN, 3, scriptedBytes(bytes).random)).toBe(
      randomDigits(3, scriptedBytes(bytes).random),
    );
  });
});

describe('checkCharacter (Luhn mod N)', () => {
  it('is the Luhn digit for NUMERIC_LUHN', () => {
    for (const payload of ['7992739871', '453957876362148', '0', '']) {
      expect(checkCharacter(payload, 'NUMERIC_LUHN')).toBe(luhnCheckDigit(payload));
    }
  });

  it('computes the mod-30 check symbol from the symbols positions', () => {
    // From the right: B (9) doubled = 18; 3 (1) = 1; 2 (0) doubled = 0: sum 19, check 30 - 19 = 11 = 'D'.
    expect(checkCharacter('23B', 'UNAMBIGUOUS')).toBe('D');
    // Z (29) doubled = 58 = 1*30 + 28: digits summed give 29, so the check is 1 = '3'.
    expect(checkCharacter('Z', 'UNAMBIGUOUS')).toBe('3');
    expect(checkCharacter('', 'UNAMBIGUOUS')).toBe('2');
    expect(() => checkCharacter('2O', 'UNAMBIGUOUS')).toThrow();
  });

  it('detects every single-symbol error in an UNAMBIGUOUS code', () => {
    const valid = generateCode({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' });
    expect(hasValidCheck(valid, 'UNAMBIGUOUS')).toBe(true);
    for (let position = 0; position < valid.length; position++) {
      for (const symbol of UNAMBIGUOUS) {
        if (symbol === valid[position]) continue;
        const typo = valid.slice(0, position) + symbol + valid.slice(position + 1);
        expect(hasValidCheck(typo, 'UNAMBIGUOUS'), typo).toBe(false);
      }
    }
  });

  it('detects swapped neighbours except the one pair like 09/90 (2Z/Z2)', () => {
    let missed = 0;
    for (const a of UNAMBIGUOUS) {
      for (const b of UNAMBIGUOUS) {
        if (a === b) continue;
        const payload = `${a}${b}7`;
        const code = payload + checkCharacter(payload, 'UNAMBIGUOUS');
        const swapped = `${b}${a}7${code.slice(-1)}`;
        if (hasValidCheck(swapped, 'UNAMBIGUOUS')) {
          missed++;
          expect([a + b, b + a]).toContain('2Z');
        }
      }
    }
    expect(missed).toBe(2);
  });

  it('refuses codes with symbols outside the alphabet', () => {
    const code = generateCode({ alphabet: 'UNAMBIGUOUS', length: 12, prefix: '' });
    expect(hasValidCheck(`${code.slice(0, 3)}O${code.slice(4)}`, 'UNAMBIGUOUS')).toBe(false);
    expect(hasValidCheck(code.toLowerCase(), 'UNAMBIGUOUS')).toBe(code.toLowerCase() === code);
    expect(hasValidCheck('2', 'UNAMBIGUOUS')).toBe(false);
  });
});

describe('generateCode for UNAMBIGUOUS', () => {
  it('honours length and prefix, draws only alphabet symbols and ends with a valid check symbol', () => {
    for (const format of [
      { alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' },
      { alphabet: 'UNAMBIGUOUS', length: 8, prefix: '' },
      { alphabet: 'UNAMBIGUOUS', length: 24, prefix: 'BK7' },
    ] as const) {
      for (let i = 0; i < 100; i++) {
        const code = generateCode(format);
        expect(code).toHaveLength(format.length);
        expect(code.startsWith(format.prefix)).toBe(true);
        expect(code).toMatch(/^[23456789ABCDEFGHJKMNPQRSTVWXYZ]+$/);
        expect(hasValidCheck(code, 'UNAMBIGUOUS')).toBe(true);
        expect(isPlausibleCode(code)).toBe(true);
      }
    }
  });

  it('does not repeat itself', () => {
    const format: CodeFormat = { alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' };
    expect(new Set(Array.from({ length: 2000 }, () => generateCode(format))).size).toBe(2000);
  });

  it('spreads every random position uniformly (no bias from the prefix or the check symbol)', () => {
    const random = seededBytes(7);
    const format: CodeFormat = { alphabet: 'UNAMBIGUOUS', length: 6, prefix: 'B' };
    const codes = Array.from({ length: 30_000 }, () => generateCode(format, random));
    for (let position = 1; position < 5; position++) {
      const column = codes.map((code) => code[position]).join('');
      expect(chiSquare(symbolCounts(column, UNAMBIGUOUS)), `position ${position}`).toBeLessThan(
        CHI2_29DF_P1E6,
      );
    }
  });
});

describe('normalizeCode for both alphabets', () => {
  it('upper-cases letters and drops spaces and dashes', () => {
    expect(normalizeCode('bk7m-2x9q rt4d')).toBe('BK7M2X9QRT4D');
    expect(normalizeCode(' Bk7M\t2x9Q-\nrT4d ')).toBe('BK7M2X9QRT4D');
  });

  it('makes a typed UNAMBIGUOUS code valid again', () => {
    const code = generateCode({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' });
    const typed = `${code.slice(0, 4)} ${code.slice(4, 8)}-${code.slice(8)}`.toLowerCase();
    expect(normalizeCode(typed)).toBe(code);
    expect(isPlausibleCode(normalizeCode(typed))).toBe(true);
  });

  it('maps no lookalike: a typed 0, O, 1, I, L or U is in no UNAMBIGUOUS code', () => {
    const code = generateCode({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' });
    for (const lookalike of ['0', 'o', 'O', '1', 'i', 'I', 'l', 'L', 'u', 'U']) {
      const typed = `${code.slice(0, 5)}${lookalike}${code.slice(6)}`;
      expect(normalizeCode(typed)).not.toBe(code);
      expect(hasValidCheck(normalizeCode(typed), 'UNAMBIGUOUS')).toBe(false);
    }
  });

  it('upper-cases ASCII only, so no other script turns into a valid symbol', () => {
    // U+017F (long s) and U+0131 (dotless i) upper-case to S and I with toUpperCase().
    expect(normalizeCode('\u017f\u0131')).toBe('\u017f\u0131');
  });

  it('leaves digits alone', () => {
    expect(normalizeCode('4539 5787 6362 1486')).toBe('4539578763621486');
  });
});

describe('isPlausibleCode for both alphabets', () => {
  it('accepts UNAMBIGUOUS codes of 8 to 24 symbols with a valid check symbol', () => {
    for (const length of [CODE_LENGTHS.UNAMBIGUOUS.min, 13, CODE_LENGTHS.UNAMBIGUOUS.max]) {
      expect(isPlausibleCode(generateCode({ alphabet: 'UNAMBIGUOUS', length, prefix: '' }))).toBe(true);
    }
    const seven = `ABCDEF${checkCharacter('ABCDEF', 'UNAMBIGUOUS')}`;
    expect(isPlausibleCode(seven)).toBe(false);
    const payload24 = 'ABCDEFGHJKMNPQRSTVWXYZ23';
    expect(isPlausibleCode(payload24 + checkCharacter(payload24, 'UNAMBIGUOUS'))).toBe(false);
  });

  it('refuses a wrong check symbol and lower case (codes are normalised first)', () => {
    const code = generateCode({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' });
    const wrong = code.slice(0, -1) + (code.endsWith('2') ? '3' : '2');
    expect(isPlausibleCode(wrong)).toBe(false);
    expect(isPlausibleCode(code.toLowerCase())).toBe(code.toLowerCase() === code);
  });
});

describe('regionSymbol and codeFormatFrom (defaults)', () => {
  it('writes the region digit itself in numeric codes and as a letter A-K (no I) in UNAMBIGUOUS ones', () => {
    expect(regionSymbol('NUMERIC_LUHN', '1')).toBe('1');
    expect(regionSymbol('NUMERIC_LUHN', '0')).toBe('0');
    expect(Array.from({ length: 10 }, (_, d) => regionSymbol('UNAMBIGUOUS', String(d))).join('')).toBe(
      'ABCDEFGHJK',
    );
    expect(() => regionSymbol('NUMERIC_LUHN', '12')).toThrow();
  });

  it('defaults to numeric codes with the region prefix, as short as the guarantee allows', () => {
    expect(codeFormatFrom(undefined, DEFAULT_MAX_CARDS, '1')).toEqual({
      alphabet: 'NUMERIC_LUHN',
      length: 18,
      prefix: '1',
    });
    expect(codeFormatFrom({ alphabet: 'UNAMBIGUOUS' }, DEFAULT_MAX_CARDS, '1')).toEqual({
      alphabet: 'UNAMBIGUOUS',
      length: 13,
      prefix: 'B',
    });
    expect(codeFormatFrom({ prefix: '142' }, 1000, '1')).toEqual({
      alphabet: 'NUMERIC_LUHN',
      length: 16,
      prefix: '142',
    });
    expect(codeFormatFrom({ length: 20 }, 5, '3')).toEqual({
      alphabet: 'NUMERIC_LUHN',
      length: 20,
      prefix: '3',
    });
    // Every default passes its own check.
    for (const maxCards of [1, 999, DEFAULT_MAX_CARDS, 10 ** 9, MAX_MAX_CARDS]) {
      for (const alphabet of ['NUMERIC_LUHN', 'UNAMBIGUOUS'] as const) {
        const format = codeFormatFrom({ alphabet }, maxCards, '1');
        expect(codeFormatErrors(format, maxCards, { regionCode: '1' }), `${alphabet} ${maxCards}`).toEqual(
          [],
        );
      }
    }
  });
});

describe('checkCodeFormat: 10^9 unissued codes per issued code at maxCards', () => {
  const fieldsOf = (format: CodeFormat, maxCards: number, regionCode?: string) =>
    codeFormatErrors(format, maxCards, regionCode === undefined ? {} : { regionCode }).map((e) => e.field);

  it('accepts a format exactly at the bound and refuses one symbol less', () => {
    // Prefix 1 + 16 random digits + Luhn: 10^16 codes = 10^7 cards x 10^9.
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' }, 10 ** 7)).toEqual([]);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 17, prefix: '1' }, 10 ** 7)).toEqual([
      'codeFormat.length',
    ]);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' }, 10 ** 7 + 1)).toEqual([
      'codeFormat.length',
    ]);
    // 30^11 = 1.77e16 >= 10^16 but 30^10 = 5.9e14 is not.
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' }, 10 ** 7)).toEqual([]);
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 12, prefix: 'B' }, 10 ** 7)).toEqual([
      'codeFormat.length',
    ]);
  });

  it('lets the legacy 16-digit format serve a million cards and no more', () => {
    expect(maxCardsFor(LEGACY_CODE_FORMAT)).toBe(1_000_000);
    expect(fieldsOf(LEGACY_CODE_FORMAT, 1_000_000)).toEqual([]);
    expect(fieldsOf(LEGACY_CODE_FORMAT, 1_000_001)).toEqual(['codeFormat.length']);
  });

  it('counts the prefix and the check symbol out of the random part', () => {
    expect(codeSpace({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' })).toBe(10n ** 16n);
    expect(codeSpace({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1234' })).toBe(10n ** 13n);
    expect(codeSpace({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' })).toBe(30n ** 11n);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1234' }, 10 ** 7)).toEqual([
      'codeFormat.length',
    ]);
  });

  it('agrees with maxCardsFor and minimumCodeLength on random formats', () => {
    const next = seededRandom(99);
    for (let i = 0; i < 2000; i++) {
      const alphabet = next() < 0.5 ? 'NUMERIC_LUHN' : 'UNAMBIGUOUS';
      const { min, max } = CODE_LENGTHS[alphabet];
      const prefix = CODE_SYMBOLS[alphabet].slice(0, Math.floor(next() * 4));
      const length = min + Math.floor(next() * (max - min + 1));
      const maxCards = Math.max(1, Math.floor(10 ** (next() * 12)));
      const format: CodeFormat = { alphabet, length, prefix };
      const fits = codeSpace(format) >= BigInt(maxCards) * 10n ** 9n;
      expect(fieldsOf(format, maxCards).length === 0, JSON.stringify({ format, maxCards })).toBe(fits);
      expect(maxCards <= maxCardsFor(format)).toBe(fits);
      expect(length >= minimumCodeLength(alphabet, prefix, maxCards)).toBe(fits);
    }
  });

  it('names the field the caller chose, and says how to fix it', () => {
    const format: CodeFormat = { alphabet: 'NUMERIC_LUHN', length: 16, prefix: '1' };
    const [error] = codeFormatErrors(format, 10 ** 7, { blame: 'maxCards' });
    expect(error?.field).toBe('maxCards');
    expect(error?.message).toContain('needs length >= 18');
    expect(error?.message).toContain('maxCards <= 100000');
    // The longest numeric codes serve the largest maxCards allowed.
    expect(codeFormatErrors({ alphabet: 'NUMERIC_LUHN', length: 24, prefix: '1' }, MAX_MAX_CARDS)).toEqual(
      [],
    );
    const unreachable = codeFormatErrors(
      { alphabet: 'UNAMBIGUOUS', length: 24, prefix: 'B'.repeat(20) },
      10 ** 7,
    );
    expect(unreachable[0]?.message).toContain('cannot be reached within 24 symbols');
  });

  it('throws VALIDATION_FAILED listing the fields', () => {
    let thrown: unknown;
    try {
      checkCodeFormat({ alphabet: 'NUMERIC_LUHN', length: 12, prefix: '1' }, DEFAULT_MAX_CARDS);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).code).toBe('VALIDATION_FAILED');
    expect((thrown as DomainError).fieldErrors?.map((e) => e.field)).toEqual(['codeFormat.length']);
    expect(() =>
      checkCodeFormat({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' }, DEFAULT_MAX_CARDS),
    ).not.toThrow();
  });

  it('refuses prefixes outside the alphabet or without the region, lengths and maxCards out of range', () => {
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B0' }, 10)).toEqual([
      'codeFormat.prefix',
    ]);
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'O' }, 10)).toEqual(['codeFormat.prefix']);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1A' }, 10)).toEqual([
      'codeFormat.prefix',
    ]);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '2' }, 10, '1')).toEqual([
      'codeFormat.prefix',
    ]);
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: '3' }, 10, '1')).toEqual([
      'codeFormat.prefix',
    ]);
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B42' }, 10, '1')).toEqual([]);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 11, prefix: '1' }, 10)).toEqual([
      'codeFormat.length',
    ]);
    expect(fieldsOf({ alphabet: 'UNAMBIGUOUS', length: 25, prefix: 'B' }, 10)).toEqual(['codeFormat.length']);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18.5, prefix: '1' }, 10)).toEqual([
      'codeFormat.length',
    ]);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' }, 0)).toEqual(['maxCards']);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' }, MAX_MAX_CARDS + 1)).toEqual([
      'maxCards',
    ]);
    expect(fieldsOf({ alphabet: 'NUMERIC_LUHN', length: 12, prefix: '12345678901' }, 1)).toEqual([
      'codeFormat.prefix',
    ]);
    expect(fieldsOf({ alphabet: 'HEX' as never, length: 12, prefix: '' }, 1)).toEqual([
      'codeFormat.alphabet',
    ]);
  });
});
