import { describe, expect, it } from 'vitest';
import type { BulkInvoiceRecord } from '../../functions/core/bulk/bulk-batch-model';
import {
  addToInvoiceTotals,
  type BulkInvoiceTotal,
  matchesBulkInvoiceFilter,
} from '../../functions/core/bulk/bulk-invoice-filter';

/** functions/core/bulk/bulk-invoice-filter.ts: which invoices finance's filters pick, and their totals. */
const invoice = (overrides: Partial<BulkInvoiceRecord> = {}): BulkInvoiceRecord => ({
  batchId: 'blk_1',
  acceptedAt: '2026-03-01T10:00:00.000Z',
  programId: 'prg_a',
  currency: 'USD',
  count: 3,
  totalMinor: 7_500,
  customerName: 'Acme Ltd',
  requestedBy: { type: 'staff', id: 'finance-1' },
  ...overrides,
});

describe('matchesBulkInvoiceFilter', () => {
  const found = { invoice: invoice({ merchantId: 'mer_1' }), status: 'SUCCEEDED' as const };

  it('matches every invoice with no filter, and only on every field given', () => {
    expect(matchesBulkInvoiceFilter(found, {})).toBe(true);
    expect(
      matchesBulkInvoiceFilter(found, {
        programId: 'prg_a',
        currency: 'USD',
        merchantId: 'mer_1',
        requestedBy: 'finance-1',
        customer: 'Acme Ltd',
        status: 'SUCCEEDED',
      }),
    ).toBe(true);
    for (const filter of [
      { programId: 'prg_b' },
      { currency: 'EUR' },
      { merchantId: 'mer_2' },
      { requestedBy: 'finance-2' },
      { customer: 'Acme' },
      { status: 'FAILED' as const },
    ]) {
      expect(matchesBulkInvoiceFilter(found, filter), JSON.stringify(filter)).toBe(false);
    }
  });

  it('compares the customer without case or outer spaces, and a staff batch has no merchant', () => {
    expect(matchesBulkInvoiceFilter(found, { customer: '  aCME ltd ' })).toBe(true);
    const staffBatch = { invoice: invoice(), status: undefined };
    expect(matchesBulkInvoiceFilter(staffBatch, { merchantId: 'mer_1' })).toBe(false);
    expect(matchesBulkInvoiceFilter(staffBatch, { status: 'RUNNING' })).toBe(false);
  });
});

describe('addToInvoiceTotals', () => {
  it('totals per currency, never across currencies', () => {
    const totals = new Map<string, BulkInvoiceTotal>();
    addToInvoiceTotals(totals, invoice());
    addToInvoiceTotals(totals, invoice({ currency: 'EUR', count: 2, totalMinor: 1_000 }));
    addToInvoiceTotals(totals, invoice({ count: 4, totalMinor: 10_000 }));
    expect([...totals.values()]).toEqual([
      { currency: 'USD', batches: 2, cards: 7, totalMinor: 17_500 },
      { currency: 'EUR', batches: 1, cards: 2, totalMinor: 1_000 },
    ]);
  });

  it('refuses a total past exact integers rather than lose minor units', () => {
    const totals = new Map<string, BulkInvoiceTotal>();
    addToInvoiceTotals(totals, invoice({ totalMinor: Number.MAX_SAFE_INTEGER }));
    expect(() => addToInvoiceTotals(totals, invoice({ totalMinor: 1 }))).toThrow(/overflow/);
  });
});
