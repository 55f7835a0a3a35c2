import { describe, expect, it } from 'vitest';
import { CARD_WRITE_BUDGET_MS } from '../../functions/config';
import { csvCell, csvRow } from '../../functions/core/csv';
import { DomainError } from '../../functions/core/errors';
import {
  CardFold,
  checkLiabilityEquation,
  LedgerCheckFailed,
  MOVEMENTS,
  Summary,
} from '../../functions/core/export-ledger';
import {
  EXPORT_SETTLE_MARGIN_MS,
  exportIdOf,
  lastMonthBoundary,
  monthPeriod,
  periodEndingAt,
  readableAfter,
  requestedPeriod,
} from '../../functions/core/export-period';
import type { EntryType, LedgerEntry } from '../../functions/core/ledger';

describe('export periods', () => {
  it('cuts a month off at 00:00 of the 1st in the region time zone, across DST', () => {
    expect(monthPeriod('2026-10', 'America/New_York')).toEqual({
      month: '2026-10',
      periodStart: '2026-10-01T04:00:00.000Z',
      cutoff: '2026-11-01T04:00:00.000Z',
      timeZone: 'America/New_York',
    });
    expect(monthPeriod('2026-03', 'Europe/Dublin')).toMatchObject({
      periodStart: '2026-03-01T00:00:00.000Z',
      cutoff: '2026-03-31T23:00:00.000Z', // Irish summer time (UTC+1) began on 29 March
    });
    expect(monthPeriod('2026-12', 'Asia/Tokyo')).toMatchObject({
      periodStart: '2026-11-30T15:00:00.000Z',
      cutoff: '2026-12-31T15:00:00.000Z',
    });
    expect(monthPeriod('2026-06', 'UTC').cutoff).toBe('2026-07-01T00:00:00.000Z');
  });

  it('a cutoff on a month boundary closes that month; one inside a month covers it to date', () => {
    expect(periodEndingAt(new Date('2026-11-01T04:00:00Z'), 'America/New_York')).toMatchObject({
      month: '2026-10',
      periodStart: '2026-10-01T04:00:00.000Z',
    });
    expect(periodEndingAt(new Date('2026-11-15T12:00:00Z'), 'America/New_York')).toMatchObject({
      month: '2026-11',
      periodStart: '2026-11-01T04:00:00.000Z',
      cutoff: '2026-11-15T12:00:00.000Z',
    });
    // A scheduled run delivered late still cuts off at midnight.
    expect(lastMonthBoundary(new Date('2026-11-01T04:07:31Z'), 'America/New_York').toISOString()).toBe(
      '2026-11-01T04:00:00.000Z',
    );
  });

  it('refuses bad formats, both or neither field, and cutoffs in the future', () => {
    const now = new Date('2026-11-20T10:00:00Z');
    const fieldOf = (request: { month?: string; cutoff?: string }) => {
      try {
        requestedPeriod(request, 'UTC', now);
        return 'OK';
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        return (error as DomainError).fieldErrors?.[0]?.field;
      }
    };
    expect(fieldOf({ month: '2026-13' })).toBe('month');
    expect(fieldOf({ month: '2026-1' })).toBe('month');
    expect(fieldOf({ month: '2026-11' })).toBe('month'); // not over yet
    expect(fieldOf({ cutoff: 'yesterday' })).toBe('cutoff');
    // Calendar-invalid instants are refused, not rolled over into the next month.
    expect(fieldOf({ cutoff: '2026-02-30T00:00:00Z' })).toBe('cutoff');
    expect(fieldOf({ cutoff: '2026-10-31T24:00:00Z' })).toBe('cutoff');
    expect(fieldOf({ cutoff: '2026-13-45T00:00:00Z' })).toBe('cutoff');
    expect(fieldOf({ cutoff: '2026-11-20T10:00:01Z' })).toBe('cutoff');
    expect(fieldOf({ cutoff: '1999-12-01T00:00:00Z' })).toBe('cutoff');
    expect(fieldOf({})).toBe('month');
    expect(fieldOf({ month: '2026-10', cutoff: '2026-11-01T00:00:00Z' })).toBe('month');
    expect(fieldOf({ month: '2026-10' })).toBe('OK');
    expect(fieldOf({ cutoff: '2026-11-20T09:59:59Z' })).toBe('OK');
  });

  it('names one run per region and cutoff', () => {
    const id = exportIdOf('us-east-1', '2026-11-01T04:00:00.000Z');
    expect(id).toMatch(/^exp_[0-9a-z]{26}$/);
    expect(exportIdOf('us-east-1', '2026-11-01T04:00:00.000Z')).toBe(id);
    expect(exportIdOf('eu-west-1', '2026-11-01T04:00:00.000Z')).not.toBe(id);
    expect(exportIdOf('us-east-1', '2026-12-01T05:00:00.000Z')).not.toBe(id);
  });

  it('waits out the card write budget several times over before reading', () => {
    expect(EXPORT_SETTLE_MARGIN_MS).toBeGreaterThanOrEqual(2 * CARD_WRITE_BUDGET_MS);
    // A whole second, as a Step Functions Wait state reads it, never before cutoff + margin.
    const notBefore = readableAfter('2026-11-15T12:00:00.250Z');
    expect(notBefore).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(notBefore)).toBeGreaterThanOrEqual(
      Date.parse('2026-11-15T12:00:00.250Z') + EXPORT_SETTLE_MARGIN_MS,
    );
  });
});

describe('CSV cells', () => {
  it('quotes as RFC 4180 and ends rows with CRLF', () => {
    expect(csvRow(['a', 'b,c', 'say "hi"', 'two\nlines', 12, null, undefined])).toBe(
      'a,"b,c","say ""hi""","two\nlines",12,,\r\n',
    );
  });

  it('defuses text a spreadsheet would run as a formula, but not numbers', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    expect(csvCell(-500)).toBe('-500');
    expect(csvCell('store-1')).toBe('store-1');
  });
});

const WINDOW = { periodStart: '2026-10-01T00:00:00.000Z', cutoff: '2026-11-01T00:00:00.000Z' };

function ledger(cardId: string, steps: [EntryType, number, string][]): LedgerEntry[] {
  let balance = 0;
  return steps.map(([type, amount, createdAt], index) => {
    balance += amount;
    return {
      id: `tx_${index + 1}`,
      cardId,
      programId: 'prg_a',
      seq: index + 1,
      type,
      amount,
      currency: 'USD',
      balanceAfter: balance,
      availableAfter: balance,
      actor: { type: 'system', id: 'test' },
      channel: 'API',
      createdAt,
    };
  });
}

const foldAll = (cardId: string, entries: LedgerEntry[]) => {
  const fold = new CardFold(cardId, WINDOW);
  const journal = entries.map((entry) => fold.add(entry)).filter(Boolean);
  return { fold, journal };
};

describe('folding a card ledger into balances, journal and summary', () => {
  const entries = ledger('gc_1', [
    ['ISSUE', 0, '2026-09-10T00:00:00.000Z'],
    ['ACTIVATE', 5000, '2026-09-10T00:00:00.000Z'],
    ['REDEEM', -1000, '2026-10-01T00:00:00.000Z'], // exactly at the start: last month
    ['LOAD', 2000, '2026-10-05T00:00:00.000Z'],
    ['REDEEM', -500, '2026-11-01T00:00:00.000Z'], // exactly at the cutoff: this month
    ['REDEEM', -700, '2026-11-01T00:00:00.001Z'], // after the cutoff
  ]);

  it('takes the balance at each end from the last entry dated at or before it', () => {
    const { fold, journal } = foldAll('gc_1', entries);
    expect(fold.balanceRow()).toMatchObject({
      balance: 5500,
      openingBalance: 4000,
      lastTransactionId: 'tx_5',
    });
    expect(journal.map((entry) => entry?.id)).toEqual(['tx_4', 'tx_5']);
    const summary = new Summary();
    fold.addTo(summary);
    const [line] = summary.toLines();
    expect(line).toMatchObject({
      cards: 1,
      openingLiability: 4000,
      closingLiability: 5500,
      journalEntries: 2,
    });
    expect(line?.movements).toMatchObject({ loaded: 2000, redeemed: -500 });
    checkLiabilityEquation(summary.toLines());
  });

  it('leaves out cards issued after the cutoff', () => {
    const { fold } = foldAll('gc_2', ledger('gc_2', [['ISSUE', 100, '2026-11-02T00:00:00.000Z']]));
    expect(fold.balanceRow()).toBeUndefined();
  });

  it('fails on a broken chain, a gap, or entries out of time order around an end', () => {
    const broken = entries.map((entry) => (entry.seq === 4 ? { ...entry, balanceAfter: 9999 } : entry));
    expect(() => foldAll('gc_1', broken)).toThrow(LedgerCheckFailed);
    expect(() =>
      foldAll(
        'gc_1',
        entries.filter((entry) => entry.seq !== 3),
      ),
    ).toThrow(/follows entry 2/);
    const swapped = entries.map((entry) =>
      entry.seq === 4 ? { ...entry, createdAt: '2026-11-03T00:00:00.000Z' } : entry,
    );
    expect(() => foldAll('gc_1', swapped)).toThrow(/after an entry dated later/);
  });

  it('the liability check fails loudly when the figures do not tie out', () => {
    const summary = new Summary();
    const line = summary.line('prg_a', 'USD');
    line.openingLiability = 100;
    line.movements.redeemed = -40;
    line.closingLiability = 70;
    expect(() => checkLiabilityEquation(summary.toLines())).toThrow(/prg_a USD: 100 \+ -40 != 70/);
    expect(MOVEMENTS).toContain('expired');
  });
});
