import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  charactersFromBits,
  decodeTrack2,
  decodeTrack2Bits,
  encodeTrack2,
  fiveBits,
  longitudinalRedundancyCheck,
  TRACK2_MAX_CHARACTERS,
  type Track2Fields,
  track2Expiry,
} from '../../../functions/core/production/track2';
import { reasonOf } from './reason-of';

/**
 * Hand-computed vector (ISO/IEC 7813 rules): ;1234=2512101? has the 4-bit values
 * B 1 2 3 4 D 2 5 1 2 1 0 1 F whose XOR is 9, so the LRC is '9'. On the stripe, data bits LSB first then
 * odd parity: ';' (1011) is 1101 0, '=' (1101) is 1011 0, '?' (1111) is 1111 1, '9' (1001) is 1001 1.
 */
const VECTOR: Track2Fields = { pan: '1234', expiryYymm: '2512', serviceCode: '101', discretionaryData: '' };

const fieldsArbitrary = fc
  .record({
    pan: fc.stringMatching(/^\d{1,19}$/),
    expiryYymm: fc
      .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 12 }))
      .map(([year, month]) => `${String(year).padStart(2, '0')}${String(month).padStart(2, '0')}`),
    serviceCode: fc.stringMatching(/^\d{3}$/),
    discretionaryData: fc.stringMatching(/^\d{0,10}$/),
  })
  .filter((fields) => fields.pan.length + fields.discretionaryData.length <= 29);

describe('track 2 (ISO/IEC 7813)', () => {
  it('encodes the hand-computed vector: sentinels, separator, LRC and 5-bit odd-parity characters', () => {
    const track = encodeTrack2(VECTOR);
    expect(track.characters).toBe(';1234=2512101?');
    expect(track.lrc).toBe('9');
    expect(track.bits.slice(0, 5)).toBe('11010');
    expect(track.bits.slice(25, 30)).toBe('10110');
    expect(track.bits.slice(-10)).toBe('1111110011');
    expect(track.bits).toHaveLength(15 * 5);
    expect(decodeTrack2Bits(track.bits)).toEqual(VECTOR);
  });

  it('writes each value as four data bits, least significant first, and an odd parity bit', () => {
    expect(fiveBits(0)).toBe('00001');
    expect(fiveBits(1)).toBe('10000');
    expect(fiveBits(3)).toBe('11001');
    expect(fiveBits(15)).toBe('11111');
    for (let value = 0; value < 16; value += 1) {
      expect([...fiveBits(value)].filter((bit) => bit === '1').length % 2).toBe(1);
    }
  });

  it('round-trips any valid fields through the characters and through the stripe bits', () => {
    fc.assert(
      fc.property(fieldsArbitrary, (fields) => {
        const track = encodeTrack2(fields);
        expect(track.characters.length + 1).toBeLessThanOrEqual(TRACK2_MAX_CHARACTERS);
        expect(decodeTrack2(track.characters + track.lrc)).toEqual(fields);
        expect(decodeTrack2Bits(track.bits)).toEqual(fields);
      }),
    );
  });

  it('detects any single flipped bit (parity) and any single changed character (LRC)', () => {
    fc.assert(
      fc.property(fieldsArbitrary, fc.nat(), fc.integer({ min: 1, max: 15 }), (fields, seed, delta) => {
        const track = encodeTrack2(fields);
        const bit = seed % track.bits.length;
        const flipped =
          track.bits.slice(0, bit) + (track.bits[bit] === '1' ? '0' : '1') + track.bits.slice(bit + 1);
        expect(reasonOf(() => decodeTrack2Bits(flipped))).toBe('TRACK2_PARITY');

        const text = track.characters + track.lrc;
        const at = 1 + (seed % (track.characters.length - 2));
        const changed = String.fromCharCode(0x30 + ((text.charCodeAt(at) - 0x30) ^ delta));
        const corrupted = text.slice(0, at) + changed + text.slice(at + 1);
        expect(reasonOf(() => decodeTrack2(corrupted))).not.toBe('NONE');
        expect(longitudinalRedundancyCheck(corrupted.slice(0, -1))).not.toBe(track.lrc);
      }),
    );
  });

  it('refuses alphanumeric codes and codes past 19 digits, naming the rule but not the code', () => {
    const letters = { ...VECTOR, pan: 'ABCD2345EFGH' };
    expect(reasonOf(() => encodeTrack2(letters))).toBe('TRACK2_NOT_NUMERIC');
    expect(() => encodeTrack2(letters)).toThrow(/digits only/);
    expect(() => encodeTrack2(letters)).not.toThrow(/ABCD2345EFGH/);
    expect(reasonOf(() => encodeTrack2({ ...VECTOR, pan: '1'.repeat(20) }))).toBe('TRACK2_TOO_LONG');
  });

  it('refuses fields that would break the layout or pass 40 characters', () => {
    expect(reasonOf(() => encodeTrack2({ ...VECTOR, expiryYymm: '2513' }))).toBe('TRACK2_FIELD');
    expect(reasonOf(() => encodeTrack2({ ...VECTOR, serviceCode: '10' }))).toBe('TRACK2_FIELD');
    expect(reasonOf(() => encodeTrack2({ ...VECTOR, discretionaryData: '12=3' }))).toBe('TRACK2_FIELD');
    const longest = { ...VECTOR, pan: '1'.repeat(19), discretionaryData: '0'.repeat(10) };
    expect(encodeTrack2(longest).characters).toHaveLength(39);
    expect(reasonOf(() => encodeTrack2({ ...longest, discretionaryData: '0'.repeat(11) }))).toBe(
      'TRACK2_TOO_LONG',
    );
  });

  it('refuses stripe data that is not whole 5-bit characters, and text without sentinels', () => {
    expect(reasonOf(() => charactersFromBits('1101'))).toBe('TRACK2_FORMAT');
    expect(reasonOf(() => decodeTrack2('1234=2512101?9'))).toBe('TRACK2_FORMAT');
    expect(reasonOf(() => decodeTrack2(';1234=2512101?'))).toBe('TRACK2_FORMAT');
  });

  it('carries a card expiry as YYMM and no expiry as 9912', () => {
    expect(track2Expiry('2029-03-31')).toBe('2903');
    expect(track2Expiry(undefined)).toBe('9912');
    expect(reasonOf(() => track2Expiry('03/2029'))).toBe('TRACK2_FIELD');
  });
});
