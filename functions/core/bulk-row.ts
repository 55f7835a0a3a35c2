import * as z from 'zod';
import { formatAmount } from './money';
import { DESIGN_ID_PATTERN, designProblem, type Program } from './program';

/**
 * One row of a bulk issuance file (issue #19): a card to issue, with the amount, who receives it, a
 * message, and the customer's reference, which is the row's idempotency key (so it is strict: letters,
 * digits, `.`, `_`, `-`; compared exactly, case included). The same rules serve a CSV upload, whose
 * cells are all text, and a JSON batch, whose amounts are numbers.
 */
export const BULK_COLUMNS = [
  'reference',
  'amount',
  'recipient_name',
  'recipient_email',
  'recipient_phone',
  'message',
  'design_id',
] as const;
export type BulkColumn = (typeof BULK_COLUMNS)[number];
export const REQUIRED_BULK_COLUMNS: readonly BulkColumn[] = ['reference', 'amount', 'recipient_name'];

export const MAX_REFERENCE_CHARS = 100;
export const MAX_NAME_CHARS = 200;
export const MAX_MESSAGE_CHARS = 1000;
export const MAX_EMAIL_CHARS = 254;

export const REFERENCE_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
/** E.164: a plus, a country code not starting with 0, at most 15 digits in all. */
const E164_PATTERN = /^\+[1-9][0-9]{1,14}$/;
/** Control characters (C0, DEL, C1), bidi overrides and zero-width characters, as functions/http/validation.ts. */
// biome-ignore lint/complexity/useRegexLiterals: the literal form trips the control-character rule.
const HIDDEN_CHARACTERS = new RegExp(
  '[\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]',
);

export interface BulkRow {
  readonly reference: string;
  readonly amountMinor: number;
  readonly recipient: { readonly name: string; readonly email?: string; readonly phone?: string };
  readonly message?: string;
  /** The e-gift design, one of the program's. */
  readonly designId?: string;
}

const text = (maxChars: number) =>
  z
    .string()
    .max(maxChars, `at most ${maxChars} characters`)
    .transform((value) => value.normalize('NFC').trim())
    .refine(
      (value) => !HIDDEN_CHARACTERS.test(value),
      'must not contain control, bidi or zero-width characters',
    )
    .refine((value) => value.length > 0, 'must not be blank');

/** Whole minor units, within what one load may be and what one card may hold in the program. */
function amountField(program: Program) {
  const money = (amount: number) => `${formatAmount(amount, program.currency)} ${program.currency}`;
  return z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', message, input: raw });
      return z.NEVER;
    };
    const amount = typeof raw === 'number' ? raw : /^[0-9]{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(amount)) {
      return fail(`must be a whole number of minor units (2500 for ${money(2500)}), digits only`);
    }
    if (amount <= 0) return fail('must be positive');
    if (amount < program.minLoad) return fail(`must be at least ${money(program.minLoad)}`);
    if (amount > program.maxLoad)
      return fail(`must be at most ${money(program.maxLoad)} (the program's load limit)`);
    if (amount > program.maxBalance)
      return fail(`must be at most ${money(program.maxBalance)} (a card's maximum balance)`);
    return amount;
  });
}

/** The row schema for one program; input keys are the column names, absent or empty cells omitted. */
export function bulkRowSchema(program: Program) {
  return z
    .object({
      reference: z
        .string()
        .regex(REFERENCE_PATTERN, `1 to ${MAX_REFERENCE_CHARS} letters, digits, '.', '_' or '-'`),
      amount: amountField(program),
      recipient_name: text(MAX_NAME_CHARS),
      recipient_email: z
        .email('must be an e-mail address')
        .max(MAX_EMAIL_CHARS, `at most ${MAX_EMAIL_CHARS} characters`)
        .optional(),
      recipient_phone: z
        .string()
        .regex(E164_PATTERN, 'must be an E.164 phone number: + and country code, up to 15 digits')
        .optional(),
      message: text(MAX_MESSAGE_CHARS).optional(),
      design_id: z
        .string()
        .superRefine((designId, ctx) => {
          const problem = DESIGN_ID_PATTERN.test(designId)
            ? designProblem(program, designId)
            : '1 to 64 letters, digits, _ or -';
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
    })
    .strict()
    .transform(
      (row): BulkRow => ({
        reference: row.reference,
        amountMinor: row.amount,
        recipient: {
          name: row.recipient_name,
          ...(row.recipient_email === undefined ? {} : { email: row.recipient_email }),
          ...(row.recipient_phone === undefined ? {} : { phone: row.recipient_phone }),
        },
        ...(row.message === undefined ? {} : { message: row.message }),
        ...(row.design_id === undefined ? {} : { designId: row.design_id }),
      }),
    );
}

export type BulkRowSchema = ReturnType<typeof bulkRowSchema>;

/**
 * The header contract: every required column, no unknown or repeated one, in any order. Names match
 * case-insensitively, ignoring surrounding spaces, with a space or '-' read as '_' ("Recipient Email").
 */
export function readBulkHeader(
  names: readonly string[],
):
  | { readonly columns: readonly BulkColumn[] }
  | { readonly problems: readonly { field: string; message: string }[] } {
  const problems: { field: string; message: string }[] = [];
  const columns: BulkColumn[] = [];
  for (const name of names) {
    const column = name.trim().toLowerCase().replace(/[ -]/g, '_');
    const label = name.trim().slice(0, 50) || '(empty)';
    if (!(BULK_COLUMNS as readonly string[]).includes(column)) {
      problems.push({ field: label, message: `unknown column; the columns are ${BULK_COLUMNS.join(', ')}` });
    } else if (columns.includes(column as BulkColumn)) {
      problems.push({ field: column, message: 'the column appears twice' });
    } else columns.push(column as BulkColumn);
  }
  for (const required of REQUIRED_BULK_COLUMNS) {
    if (!columns.includes(required))
      problems.push({ field: required, message: 'required column is missing' });
  }
  return problems.length > 0 ? { problems } : { columns };
}
