import * as z from 'zod';
import { INSTANT_PATTERN, isCalendarDate, isCalendarMonth, isIsoInstant } from '../core/calendar';
import { MAX_CHECK_LIMIT } from '../core/check-limits';
import { CHANNELS } from '../core/ledger';
import { MAX_AMOUNT, SUPPORTED_CURRENCIES } from '../core/money';

/**
 * Shared input rules. Free text is NFC-normalised and refused when it hides control characters,
 * bidirectional overrides or zero-width characters (the unicode tricks that make "Blocked" read as
 * something else in a console or a CSV).
 */
// biome-ignore lint/complexity/useRegexLiterals: the literal form trips the control-character rule.
const HIDDEN_CHARACTERS = new RegExp(
  '[\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]',
);

export const safeText = (max: number) =>
  z
    .string()
    .max(max)
    .transform((value) => value.normalize('NFC').trim())
    .refine(
      (value) => !HIDDEN_CHARACTERS.test(value),
      'must not contain control, bidi or zero-width characters',
    )
    .refine((value) => value.length > 0, 'must not be blank');

/** Caller-chosen identifiers (customer ids, references, store and till ids). */
export const externalId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/#-]*$/, 'letters, digits and . _ : @ / # - only');

export const entityId = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be a ${prefix}_ id`);

/**
 * Failed-check limit overrides of a merchant or a program (functions/core/check-limits.ts): failures in a
 * sliding 10-minute window; a field left out keeps its current value (the default when never set).
 */
export const checkLimits = z
  .object({
    failuresPerCaller: z.number().int().min(1).max(MAX_CHECK_LIMIT).optional(),
    failuresPerMerchant: z.number().int().min(1).max(MAX_CHECK_LIMIT).optional(),
  })
  .strict();

export const amount = z.number().int().min(1).max(MAX_AMOUNT);
export const amountOrZero = z.number().int().min(0).max(MAX_AMOUNT);
export const currency = z.enum(SUPPORTED_CURRENCIES as [string, ...string[]]);

/** Where and how: recorded on the ledger entry so reports can slice by channel, store and till. */
export const requestContextFields = {
  channel: z.enum(CHANNELS).optional(),
  locationId: externalId.optional(),
  terminalId: externalId.optional(),
  reference: safeText(255).optional(),
  currency: currency.optional(),
};

export const metadata = z
  .record(
    z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'keys: letters, digits, _ . - (max 40)'),
    z.union([safeText(500), z.number().finite(), z.boolean()]),
  )
  .refine((value) => Object.keys(value).length <= 20, 'at most 20 keys');

/**
 * Dates, months and instants: the shape (the OpenAPI document shows it as a pattern), then the calendar
 * (functions/core/calendar.ts), so 2026-02-30 or 2026-13-45 is a 400 naming the field, never a date
 * rolled over into the next month nor a RangeError further in.
 */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date yyyy-mm-dd', abort: true })
  .refine(isCalendarDate, 'must be a real calendar date yyyy-mm-dd');

export const isoMonth = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'must be a month as YYYY-MM', abort: true })
  .refine(isCalendarMonth, 'must be a month as YYYY-MM (01 to 12)');

export const isoInstant = z
  .string()
  .max(40, { message: 'must be an ISO 8601 instant with its offset', abort: true })
  .regex(INSTANT_PATTERN, {
    message: 'must be an ISO 8601 instant with its offset, e.g. 2026-11-01T00:00:00Z',
    abort: true,
  })
  .refine(isIsoInstant, 'must be a real date and time of day');

/** A day (yyyy-mm-dd) or an instant (ISO 8601 with its offset), e.g. the ends of a range. */
export const isoDateOrInstant = z
  .string()
  .max(40, { message: 'must be a date yyyy-mm-dd or an ISO 8601 instant', abort: true })
  .refine(
    (value) => isCalendarDate(value) || isIsoInstant(value),
    'must be a real date yyyy-mm-dd or an ISO 8601 instant with its offset',
  );

/** An actor's id in a query (a staff user's, an API key's): what the audit trail and invoices name. */
export const actorIdQuery = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII');

export const listQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(2048).optional(),
};

/** A body that must be empty (`{}`): actions whose path says everything. */
export const emptyBody = z.object({}).strict();
