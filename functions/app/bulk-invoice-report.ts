import {
  addToInvoiceTotals,
  type BulkInvoiceFilter,
  type BulkInvoiceTotal,
  type BulkInvoiceWithStatus,
  matchesBulkInvoiceFilter,
} from '../core/bulk/bulk-invoice-filter';
import { bulkInvoicesInRange } from '../store/bulk-invoices';

export interface ReportBounds {
  /** Invoices read for one page at most: narrow filters over a wide range answer a short page and a cursor. */
  readonly readPerPage: number;
  /** Invoices a range may hold for the first page to total them; past this the totals are null. */
  readonly totalled: number;
}

export const REPORT_BOUNDS: ReportBounds = { readPerPage: 2_000, totalled: 20_000 };

export interface BulkInvoiceReport {
  readonly items: BulkInvoiceWithStatus[];
  readonly nextCursor: string | null;
  /** Per currency over every matching invoice of the range: on the first page only (null after it). */
  readonly totals: BulkInvoiceTotal[] | null;
}

/**
 * Finance's list of bulk batch invoices (GET /v1/reports/bulk-invoices).
 *
 * Primary course: walk the invoices accepted in [fromInstant, toInstant) from the cursor on, oldest
 * first, keeping those the filter matches until the page holds `limit` (or `readPerPage` were read: the
 * page is short and the cursor goes on from there). On the first page the walk goes on to the range's end to total the matching invoices per currency, so the totals never depend on the page
 * size; a range too large to total in one request gives null totals rather than partial ones.
 */
export async function bulkInvoiceReport(
  range: { readonly fromInstant: string; readonly toInstant: string },
  filter: BulkInvoiceFilter,
  limit: number,
  cursor?: string,
  bounds: ReportBounds = REPORT_BOUNDS,
): Promise<BulkInvoiceReport> {
  const items: BulkInvoiceWithStatus[] = [];
  const totals = cursor === undefined ? new Map<string, BulkInvoiceTotal>() : undefined;
  let pageOpen = true;
  let nextCursor: string | null = null;
  let read = 0;
  for await (const found of bulkInvoicesInRange(range.fromInstant, range.toInstant, cursor)) {
    read += 1;
    const matches = matchesBulkInvoiceFilter(found, filter);
    if (matches && totals) addToInvoiceTotals(totals, found.invoice);
    if (pageOpen) {
      if (matches) items.push({ invoice: found.invoice, status: found.status });
      if (items.length >= limit || read >= bounds.readPerPage) {
        pageOpen = false;
        nextCursor = found.cursor;
      }
    }
    if (!pageOpen && (!totals || read >= bounds.totalled)) {
      return { items, nextCursor, totals: null };
    }
  }
  return { items, nextCursor, totals: totals ? [...totals.values()] : null };
}
