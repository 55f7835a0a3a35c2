import { PrinterDataError } from './printer-data-error';

/**
 * Magnetic stripe track 2 as ISO/IEC 7813 lays it out:
 *
 *   ;PAN=YYMMSSSDDDD?L
 *
 * start sentinel ';', the primary account number (here the card code: digits only, at most 19), field
 * separator '=', expiry YYMM, a 3-digit service code, discretionary digits, end sentinel '?', then the
 * longitudinal redundancy check L. At most 40 characters in all, sentinels and LRC included.
 *
 * On the stripe each character is 5 bits: its value (character code - 0x30, so '0'..'9' are 0..9, ':'
 * 10, ';' 11, '<' 12, '=' 13, '>' 14, '?' 15) as four data bits, least significant first, then an odd
 * parity bit. The LRC's data bits are the XOR of the data bits of every character from the start to the
 * end sentinel; its parity bit is odd parity over its own data bits (it is a character like the others).
 *
 * Alphanumeric codes cannot be carried: track 2 has no letters. Such programs get no magnetic stripe
 * (encodeTrack2 refuses them, naming the rule, never the code).
 */
export const TRACK2_MAX_CHARACTERS = 40;
export const TRACK2_PAN_MAX_DIGITS = 19;
export const TRACK2_BITS_PER_CHARACTER = 5;

const START_SENTINEL = ';';
const FIELD_SEPARATOR = '=';
const END_SENTINEL = '?';
/** ;PAN=YYMMSSS?L around the PAN and discretionary data: 1 + 1 + 4 + 3 + 1 + 1. */
const FIXED_CHARACTERS = 11;

export interface Track2Fields {
  /** The primary account number: the card code's digits. */
  readonly pan: string;
  /** YYMM. */
  readonly expiryYymm: string;
  /** Three digits (ISO/IEC 7813): interchange, authorization processing, allowed services. */
  readonly serviceCode: string;
  /** Digits, possibly none. */
  readonly discretionaryData: string;
}

export interface Track2 {
  /** From the start sentinel to the end sentinel: what an encoder is given (it appends the LRC). */
  readonly characters: string;
  /** The LRC character. */
  readonly lrc: string;
  /** Every character, LRC included, as its 5 stripe bits ('0'/'1', data bits LSB first, then parity). */
  readonly bits: string;
}

const digitsOnly = (text: string): boolean => /^\d*$/.test(text);

function assertFields(fields: Track2Fields): void {
  if (!/^\d+$/.test(fields.pan)) {
    throw new PrinterDataError(
      'TRACK2_NOT_NUMERIC',
      'Track 2 carries digits only: an alphanumeric card code cannot be written to a magnetic stripe (print these cards without one)',
    );
  }
  if (fields.pan.length > TRACK2_PAN_MAX_DIGITS) {
    throw new PrinterDataError(
      'TRACK2_TOO_LONG',
      `Track 2 carries a PAN of at most ${TRACK2_PAN_MAX_DIGITS} digits; this code has ${fields.pan.length}`,
    );
  }
  const month = Number(fields.expiryYymm.slice(2));
  if (!/^\d{4}$/.test(fields.expiryYymm) || month < 1 || month > 12) {
    throw new PrinterDataError('TRACK2_FIELD', 'Track 2 expiry must be YYMM with a month 01-12');
  }
  if (!/^\d{3}$/.test(fields.serviceCode)) {
    throw new PrinterDataError('TRACK2_FIELD', 'Track 2 service code must be three digits');
  }
  if (!digitsOnly(fields.discretionaryData)) {
    throw new PrinterDataError('TRACK2_FIELD', 'Track 2 discretionary data must be digits');
  }
  const total = FIXED_CHARACTERS + fields.pan.length + fields.discretionaryData.length;
  if (total > TRACK2_MAX_CHARACTERS) {
    throw new PrinterDataError(
      'TRACK2_TOO_LONG',
      `Track 2 holds at most ${TRACK2_MAX_CHARACTERS} characters; these fields need ${total}`,
    );
  }
}

/** The 4-bit value of a track 2 character ('0'..'?'). */
function characterValue(character: string): number {
  const value = character.charCodeAt(0) - 0x30;
  if (character.length !== 1 || value < 0 || value > 15) {
    throw new PrinterDataError('TRACK2_FORMAT', 'Track 2 holds only the characters 0-9 : ; < = > ?');
  }
  return value;
}

const characterOf = (value: number): string => String.fromCharCode(0x30 + value);

/** Four data bits LSB first, then the bit that makes the count of ones odd. */
export function fiveBits(value: number): string {
  let bits = '';
  let ones = 0;
  for (let bit = 0; bit < 4; bit += 1) {
    const set = (value >> bit) & 1;
    ones += set;
    bits += String(set);
  }
  return bits + (ones % 2 === 0 ? '1' : '0');
}

export function longitudinalRedundancyCheck(characters: string): string {
  let xor = 0;
  for (const character of characters) xor ^= characterValue(character);
  return characterOf(xor);
}

export function encodeTrack2(fields: Track2Fields): Track2 {
  assertFields(fields);
  const characters = `${START_SENTINEL}${fields.pan}${FIELD_SEPARATOR}${fields.expiryYymm}${fields.serviceCode}${fields.discretionaryData}${END_SENTINEL}`;
  const lrc = longitudinalRedundancyCheck(characters);
  const bits = [...characters, lrc].map((character) => fiveBits(characterValue(character))).join('');
  if (bits.length > TRACK2_MAX_CHARACTERS * TRACK2_BITS_PER_CHARACTER) {
    throw new Error('Invariant: track 2 fits in 40 characters');
  }
  return { characters, lrc, bits };
}

/** Reads 5-bit stripe data back to characters, refusing any character whose parity is even. */
export function charactersFromBits(bits: string): string {
  if (!/^[01]*$/.test(bits) || bits.length % TRACK2_BITS_PER_CHARACTER !== 0) {
    throw new PrinterDataError('TRACK2_FORMAT', 'Track 2 bits come in groups of five 0/1 digits');
  }
  let characters = '';
  for (let start = 0; start < bits.length; start += TRACK2_BITS_PER_CHARACTER) {
    const group = bits.slice(start, start + TRACK2_BITS_PER_CHARACTER);
    const ones = [...group].filter((bit) => bit === '1').length;
    if (ones % 2 === 0) {
      throw new PrinterDataError(
        'TRACK2_PARITY',
        `Track 2 character ${start / TRACK2_BITS_PER_CHARACTER + 1} fails its odd parity`,
      );
    }
    let value = 0;
    for (let bit = 0; bit < 4; bit += 1) value |= Number(group[bit]) << bit;
    characters += characterOf(value);
  }
  return characters;
}

/**
 * Decodes ';PAN=YYMMSSSDDD?' followed by its LRC character, checking the LRC, the sentinels and every
 * field. Use decodeTrack2Bits for stripe data, which checks parity first.
 */
export function decodeTrack2(charactersWithLrc: string): Track2Fields {
  const end = charactersWithLrc.indexOf(END_SENTINEL);
  if (!charactersWithLrc.startsWith(START_SENTINEL) || end !== charactersWithLrc.length - 2) {
    throw new PrinterDataError('TRACK2_FORMAT', 'Track 2 runs from ; to ? followed by its LRC');
  }
  const characters = charactersWithLrc.slice(0, -1);
  if (longitudinalRedundancyCheck(characters) !== charactersWithLrc.slice(-1)) {
    throw new PrinterDataError('TRACK2_LRC', 'Track 2 LRC does not match its characters');
  }
  const match = /^;(\d{1,19})=(\d{4})(\d{3})(\d*)\?$/.exec(characters);
  if (!match) throw new PrinterDataError('TRACK2_FORMAT', 'Track 2 fields are not PAN=YYMM SSS digits');
  const [, pan = '', expiryYymm = '', serviceCode = '', discretionaryData = ''] = match;
  const fields = { pan, expiryYymm, serviceCode, discretionaryData };
  assertFields(fields);
  return fields;
}

export const decodeTrack2Bits = (bits: string): Track2Fields => decodeTrack2(charactersFromBits(bits));

/**
 * The expiry a card's track 2 carries: its expiry date's YYMM, or 9912 (read as December 2099) for a
 * card that does not expire, since the field cannot be left out.
 */
export function track2Expiry(expiresOn: string | undefined): string {
  if (expiresOn === undefined) return '9912';
  const match = /^\d\d(\d\d)-(\d\d)-\d\d/.exec(expiresOn);
  if (!match) throw new PrinterDataError('TRACK2_FIELD', 'A card expiry must be an ISO date (YYYY-MM-DD)');
  return `${match[1]}${match[2]}`;
}
