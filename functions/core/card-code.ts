import { createHmac, randomBytes } from 'node:crypto';
import { base32 } from './ids';

/**
 * Card codes (the number printed on the card, the GAN). Crypto-random digits without modulo bias,
 * a Luhn check digit, never stored: the card id is an HMAC of the code under a secret pepper, so a
 * lookup by code is one GetItem and a stolen table reveals no code.
 */
export interface CodeFormat {
  /** Total length including prefix and check digit. */
  readonly length: number;
  /** Leading digits that identify region and program. */
  readonly prefix: string;
}

export const DEFAULT_CODE_FORMAT: CodeFormat = { length: 16, prefix: '' };

/** One uniformly random decimal digit per accepted byte: bytes >= 250 are rejected (no modulo bias). */
export function randomDigits(count: number, random: (size: number) => Uint8Array = randomBytes): string {
  let digits = '';
  while (digits.length < count) {
    for (const byte of random(count * 2)) {
      if (byte < 250 && digits.length < count) digits += String(byte % 10);
    }
  }
  return digits;
}

export function luhnCheckDigit(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    // Double every second digit counting from the right of the payload (the check digit goes after it).
    let digit = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

export function isValidLuhn(code: string): boolean {
  if (!/^\d{2,}$/.test(code)) return false;
  return luhnCheckDigit(code.slice(0, -1)) === code.slice(-1);
}

export function generateCode(format: CodeFormat = DEFAULT_CODE_FORMAT): string {
  const payload = format.prefix + randomDigits(format.length - format.prefix.length - 1);
  return payload + luhnCheckDigit(payload);
}

/** What people type: spaces and dashes are ignored. */
export function normalizeCode(input: string): string {
  return input.replace(/[\s-]/g, '');
}

/** A code worth looking up: digits of the right shape with a valid check digit. */
export function isPlausibleCode(code: string): boolean {
  return code.length >= 12 && code.length <= 24 && isValidLuhn(code);
}

export function cardIdForCode(code: string, pepper: string): string {
  const mac = createHmac('sha256', pepper).update(`card-code:${code}`).digest();
  return `gc_${base32(mac).slice(0, 26)}`;
}

export const last4 = (code: string): string => code.slice(-4);
