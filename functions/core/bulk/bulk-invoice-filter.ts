import type { BulkInvoiceRecord, BulkStatus } from './bulk-batch-model';

/**
 * Which bulk batch invoices finance asks for (GET /v1/reports/bulk-invoices): the acceptance range is the
 * index's key; every other field narrows the invoices read from it. A field left out matches all.
 */
export interface BulkInvoiceFilter {
  readonly programId?: string;
  readonly currency?: string;
  readonly merchantId?: string;
  /** Who asked for the batch: a staff user's or an API key's actor id. */
  readonly requestedBy?: string;
  /** The business customer as the batch names it; compared without case and outer spaces. */
  readonly customer?: string;
  readonly status?: BulkStatus;
}

/** Statuses an invoiced batch can be in: only an accepted batch has an invoice. */
export const INVOICED_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED'] as const satisfies readonly BulkStatus[];

/** An invoice with its batch's status now (the invoice is written once, the status moves on). */
export interface BulkInvoiceWithStatus {
  readonly invoice: BulkInvoiceRecord;
  readonly status: BulkStatus | undefined;
}

const customerKey = (name: string) => name.trim().toLowerCase();

export function matchesBulkInvoiceFilter(
  { invoice, status }: BulkInvoiceWithStatus,
  filter: BulkInvoiceFilter,
): boolean {
  return (
    (filter.programId === undefined || invoice.programId === filter.programId) &&
    (filter.currency === undefined || invoice.currency === filter.currency) &&
    (filter.merchantId === undefined || invoice.merchantId === filter.merchantId) &&
    (filter.requestedBy === undefined || invoice.requestedBy.id === filter.requestedBy) &&
    (filter.customer === undefined || customerKey(invoice.customerName) === customerKey(filter.customer)) &&
    (filter.status === undefined || status === filter.status)
  );
}

/** What matching invoices add up to in one currency: amounts never add across currencies. */
export interface BulkInvoiceTotal {
  readonly currency: string;
  readonly batches: number;
  readonly cards: number;
  readonly totalMinor: number;
}

/** Adds one invoice to the totals per currency (kept in the order currencies are first met). */
export function addToInvoiceTotals(
  totals: Map<string, BulkInvoiceTotal>,
  invoice: BulkInvoiceRecord,
): Map<string, BulkInvoiceTotal> {
  const total = totals.get(invoice.currency) ?? {
    currency: invoice.currency,
    batches: 0,
    cards: 0,
    totalMinor: 0,
  };
  const next = {
    ...total,
    batches: total.batches + 1,
    cards: total.cards + invoice.count,
    totalMinor: total.totalMinor + invoice.totalMinor,
  };
  // Minor units stay integers; a sum past 2^53 would silently lose cents.
  if (!Number.isSafeInteger(next.totalMinor)) throw new Error('Bulk invoice totals overflow');
  totals.set(invoice.currency, next);
  return totals;
}
