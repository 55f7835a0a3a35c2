import { describe, expect, it } from 'vitest';
import {
  cardIdForCode,
  DEFAULT_CODE_FORMAT,
  generateCode,
  isPlausibleCode,
  isValidLuhn,
  last4,
  luhnCheckDigit,
  normalizeCode,
  randomDigits,
} from '../../functions/core/card-code';
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
  it('makes 16-digit Luhn-valid codes by default', () => {
    expect(DEFAULT_CODE_FORMAT).toEqual({ length: 16, prefix: '' });
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
