import { isCalendarDate, isIsoInstant } from './calendar';
import type { CardStatus } from './card';
import { DomainError } from './errors';
import { newId } from './ids';
import type { Actor, EntryType, LedgerEntry } from './ledger';

/**
 * The audit trail: one immutable record per staff action, with who, when, why, and the subject's state
 * before and after. Card actions are projected from their ledger entries (written atomically with the
 * change, carrying actor and reason) by the audit stream consumer; actions on programs, merchants, API
 * keys, webhooks and fraud alerts write their record in the same transaction as the change. Records are
 * never updated or deleted: there is no function or route that could.
 */
export const AUDIT_SUBJECTS = [
  'card',
  'program',
  'merchant',
  'apiKey',
  'webhook',
  'fraudAlert',
  // Physical card production (functions/app/production-*.ts): printers, orders, their files and cartons.
  'printer',
  'productionOrder',
  // Issue #19: bulk batches (their invoice summary) and e-gift deliveries (resends, cancels).
  'bulkBatch',
  'delivery',
] as const;
export type AuditSubject = (typeof AUDIT_SUBJECTS)[number];

export type Snapshot = object;

export interface AuditRecord {
  readonly id: string;
  readonly at: string;
  readonly actor: Actor;
  /** `<subject>.<verb>`, e.g. card.block, card.adjust-increment, program.update, apiKey.revoke. */
  readonly action: string;
  readonly subjectType: AuditSubject;
  readonly subjectId: string;
  readonly cardId?: string;
  readonly programId?: string;
  readonly merchantId?: string;
  readonly transactionId?: string;
  readonly reason?: string;
  /** The subject's state before the action (null: it did not exist). Never a secret. */
  readonly before: Snapshot | null;
  /** The subject's state after the action (null: it was deleted). Never a secret. */
  readonly after: Snapshot | null;
}

/** What a store needs to write the audit record of a change made by a caller. */
export interface AuditContext {
  readonly actor: Actor;
  readonly reason?: string;
}

/** The status an entry type moves a card to, and from where that is known from the type alone. */
const TRANSITIONS: Partial<Record<EntryType, { from?: CardStatus | null; to: CardStatus }>> = {
  ISSUE: { from: null, to: 'PENDING' },
  ACTIVATE: { from: 'PENDING', to: 'ACTIVE' },
  BLOCK: { from: 'ACTIVE', to: 'BLOCKED' },
  UNBLOCK: { from: 'BLOCKED', to: 'ACTIVE' },
  DEACTIVATE: { to: 'DEACTIVATED' },
};

/** Entry types whose status before cannot be told from the type (DEACTIVATE: from any live state). */
export const needsStatusBefore = (type: EntryType): boolean =>
  TRANSITIONS[type] !== undefined && TRANSITIONS[type]?.from === undefined;

/** Entry types that set a status (to read the status before a DEACTIVATE from earlier entries). */
export const statusAfterEntry = (type: EntryType): CardStatus | undefined => TRANSITIONS[type]?.to;

/** Holds and their ends move `available` by the hold's amount, which the entry does not carry. */
const AVAILABLE_UNKNOWN: readonly EntryType[] = ['HOLD', 'VOID', 'CAPTURE'];

export const cardAuditId = (entryId: string): string => `audit_${entryId}`;

/**
 * The audit record of a staff entry: balance before = balance after - amount; available likewise
 * except for holds; the status from the type (DEACTIVATE: `statusBefore`, read from earlier entries).
 */
export function auditOfEntry(entry: LedgerEntry, statusBefore?: CardStatus): AuditRecord {
  const transition = TRANSITIONS[entry.type];
  const availableKnown = !AVAILABLE_UNKNOWN.includes(entry.type);
  const fromStatus = transition?.from === undefined ? statusBefore : transition.from;
  const before: Snapshot | null =
    entry.type === 'ISSUE'
      ? null
      : {
          balance: entry.balanceAfter - entry.amount,
          ...(availableKnown ? { available: entry.availableAfter - entry.amount } : {}),
          ...(transition && fromStatus ? { status: fromStatus } : {}),
        };
  const after: Snapshot = {
    balance: entry.balanceAfter,
    available: entry.availableAfter,
    ...(transition ? { status: transition.to } : {}),
  };
  return {
    id: cardAuditId(entry.id),
    at: entry.createdAt,
    actor: entry.actor,
    action: `card.${entry.type.toLowerCase().replaceAll('_', '-')}`,
    subjectType: 'card',
    subjectId: entry.cardId,
    cardId: entry.cardId,
    programId: entry.programId,
    ...(entry.merchantId ? { merchantId: entry.merchantId } : {}),
    transactionId: entry.id,
    ...(entry.reason ? { reason: entry.reason } : {}),
    before,
    after,
  };
}

/** The largest range an audit query walks day by day (without a card or actor). */
export const MAX_AUDIT_DAYS = 366;
const DEFAULT_AUDIT_DAYS = 30;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * An audit time range from `from`/`to` (dates yyyy-mm-dd, UTC, both days included, or instants).
 * Without `to`: now. Without `from`: 30 days before `to`.
 */
export function auditRange(
  from: string | undefined,
  to: string | undefined,
  now: Date,
): { from: string; to: string } {
  const instant = (value: string, end: boolean, field: string): string => {
    const text = DATE_ONLY.test(value) ? `${value}T${end ? '23:59:59.999' : '00:00:00.000'}Z` : value;
    const at = isCalendarDate(value) || isIsoInstant(value) ? Date.parse(text) : Number.NaN;
    const normal = Number.isNaN(at) ? undefined : new Date(at).toISOString();
    if (!normal) {
      throw new DomainError('VALIDATION_FAILED', 'The audit range is not valid.', [
        { field, message: 'must be a date yyyy-mm-dd or an ISO 8601 instant' },
      ]);
    }
    return normal;
  };
  const end = to ? instant(to, true, 'query.to') : now.toISOString();
  const start = from
    ? instant(from, false, 'query.from')
    : new Date(Date.parse(end) - DEFAULT_AUDIT_DAYS * 86_400_000).toISOString();
  if (start > end) {
    throw new DomainError('VALIDATION_FAILED', 'The audit range is not valid.', [
      { field: 'query.from', message: 'must not be after to' },
    ]);
  }
  if (Date.parse(end) - Date.parse(start) > MAX_AUDIT_DAYS * 86_400_000) {
    throw new DomainError('VALIDATION_FAILED', 'The audit range is not valid.', [
      { field: 'query.to', message: `the range spans at most ${MAX_AUDIT_DAYS} days` },
    ]);
  }
  return { from: start, to: end };
}

/** The audit record of a change to a program, merchant, API key, webhook or fraud alert. */
export function auditOfChange(
  context: AuditContext,
  change: {
    readonly action: string;
    readonly subjectType: Exclude<AuditSubject, 'card'>;
    readonly subjectId: string;
    readonly at: Date;
    readonly before: Snapshot | null;
    readonly after: Snapshot | null;
    readonly programId?: string;
    readonly merchantId?: string;
    readonly cardId?: string;
  },
): AuditRecord {
  const { at, ...rest } = change;
  return {
    id: newId('aud', at),
    at: at.toISOString(),
    actor: context.actor,
    ...rest,
    ...(context.reason ? { reason: context.reason } : {}),
  };
}
