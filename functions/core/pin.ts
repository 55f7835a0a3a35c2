import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { DomainError } from './errors';

/**
 * Card PINs: 4 to 8 digits (a program may narrow it), never stored, only an scrypt hash with a per-card
 * salt. Every check first spends one of the card's attempts (a counter under a DynamoDB condition), so
 * parallel guesses can never exceed the limit; a right PIN gives the attempts back.
 */
export const PIN_MAX_FAILURES = 5;

/** scrypt cost: N=2^14, r=8, p=1 (about 16 MB, tens of ms): slow for a guesser, fine for a till. */
const SCRYPT = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;

export interface PinRecord {
  readonly cardId: string;
  readonly hash: string;
  readonly salt: string;
  /** Attempts spent since the last right PIN (or set / reset). At PIN_MAX_FAILURES the PIN is locked. */
  readonly failures: number;
  /** Changes on every set / reset, so a check never spends attempts of a PIN that was replaced. */
  readonly version: number;
  readonly updatedAt: string;
}

export interface PinRules {
  readonly minLength: number;
  readonly maxLength: number;
}

export const DEFAULT_PIN_RULES: PinRules = { minLength: 4, maxLength: 8 };

/** Refuses malformed PINs and the ones a guesser tries first (all one digit, straight runs). */
export function checkNewPin(pin: string, rules: PinRules = DEFAULT_PIN_RULES): void {
  const problem = (message: string) =>
    new DomainError('VALIDATION_FAILED', 'The PIN is not acceptable.', [{ field: 'pin', message }]);
  if (!/^\d+$/.test(pin) || pin.length < rules.minLength || pin.length > rules.maxLength) {
    throw problem(`must be ${rules.minLength} to ${rules.maxLength} digits`);
  }
  if (/^(\d)\1+$/.test(pin)) throw problem('must not repeat one digit');
  const digits = [...pin].map(Number);
  const steps = new Set(digits.slice(1).map((digit, index) => (digit - (digits[index] ?? 0) + 10) % 10));
  if (steps.size === 1 && (steps.has(1) || steps.has(9)))
    throw problem('must not be a straight run like 1234');
}

export function hashPin(
  pin: string,
  salt: string = randomBytes(16).toString('hex'),
): { hash: string; salt: string } {
  return { hash: scryptSync(pin, Buffer.from(salt, 'hex'), KEY_LENGTH, SCRYPT).toString('hex'), salt };
}

/**
 * hashPin off the main thread (libuv's pool): for the many PINs of a production order, so hashing them
 * never stalls the process's other work for seconds.
 */
export function hashPinInPool(
  pin: string,
  salt: string = randomBytes(16).toString('hex'),
): Promise<{ hash: string; salt: string }> {
  return new Promise((resolve, reject) => {
    scrypt(pin, Buffer.from(salt, 'hex'), KEY_LENGTH, SCRYPT, (error, key) => {
      if (error) reject(error);
      else resolve({ hash: key.toString('hex'), salt });
    });
  });
}

/** Constant-time comparison of a presented PIN with the stored hash. */
export function pinMatches(pin: string, record: Pick<PinRecord, 'hash' | 'salt'>): boolean {
  const presented = scryptSync(pin, Buffer.from(record.salt, 'hex'), KEY_LENGTH, SCRYPT);
  const expected = Buffer.from(record.hash, 'hex');
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

/**
 * The same work as a real check, for answers that must not be faster when there is no PIN to check: one
 * scrypt and one comparison of equal lengths. The stored side is a constant (no PIN hashes to it in
 * practice), so no scrypt runs at module load, where it would slow every cold start of the bundles that
 * import this module.
 */
const DECOY: Pick<PinRecord, 'hash' | 'salt'> = { hash: '00'.repeat(KEY_LENGTH), salt: '00'.repeat(16) };
export function decoyPinCheck(pin: string): void {
  pinMatches(pin, DECOY);
}

export const isPinLocked = (record: Pick<PinRecord, 'failures'>): boolean =>
  record.failures >= PIN_MAX_FAILURES;
