import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkInvoiceReport } from '../../functions/app/bulk-invoice-report';
import type { BulkBatch, BulkInvoiceRecord, BulkStatus } from '../../functions/core/bulk/bulk-batch-model';
import { newId } from '../../functions/core/ids';
import { createBulkBatch } from '../../functions/store/bulk-batches';
import { bulkInvoicePut } from '../../functions/store/bulk-invoices';
import { db, tableName } from '../../functions/store/dynamo-client';
import { writeAllOrNothing } from '../../functions/store/group-write';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * GET /v1/reports/bulk-invoices (issue #19), finance's list of accepted bulk batches: invoices of three
 * days, two programs, two currencies, three requesters, two customers and every invoiced status are
 * written through the store, then read through the API. Each filter (and a combination) answers exactly
 * the invoices a plain reading of the filter picks, in acceptance order; pages of 2 walk them all once;
 * the first page totals every match per currency; bad filters are VALIDATION_FAILED naming the field,
 * and change nothing; only finance and admin may read it.
 */
const PROGRAM_A = `prg_${'a'.repeat(26)}`;
const PROGRAM_B = `prg_${'b'.repeat(26)}`;
const MERCHANT = `mer_${'m'.repeat(26)}`;
const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03'] as const;
const STATUSES: readonly BulkStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED'];
const REQUESTERS = [
  { type: 'staff', id: 'finance-user-1' },
  { type: 'staff', id: 'admin-user-2' },
  { type: 'merchant', id: 'key_acme' },
] as const;

interface Seeded extends BulkInvoiceRecord {
  readonly status: BulkStatus;
}

let stack: LocalStack;
let finance: string;
const seeded: Seeded[] = [];

/** The 18 invoices: every combination spread so each filter value picks a different subset. */
function invoiceAt(index: number): Seeded {
  const day = DAYS[index % DAYS.length] ?? DAYS[0];
  const acceptedAt = `${day}T${String(8 + (index % 12)).padStart(2, '0')}:00:00.000Z`;
  const requester = REQUESTERS[index % REQUESTERS.length] ?? REQUESTERS[0];
  return {
    batchId: newId('blk', new Date(acceptedAt)),
    acceptedAt,
    programId: index % 2 === 0 ? PROGRAM_A : PROGRAM_B,
    currency: index % 4 === 3 ? 'EUR' : 'USD',
    count: 10 + index,
    totalMinor: (10 + index) * 2_500,
    customerName: index % 5 === 0 ? 'Globex Corp' : 'Acme Ltd',
    requestedBy: { type: requester.type, id: requester.id },
    ...(requester.type === 'merchant' ? { merchantId: MERCHANT } : {}),
    status: STATUSES[index % STATUSES.length] ?? 'RUNNING',
  };
}

async function seed(invoice: Seeded): Promise<void> {
  const { status, ...record } = invoice;
  const batch = {
    id: record.batchId,
    programId: record.programId,
    currency: record.currency,
    customerName: record.customerName,
    output: 'CLAIM_LINKS',
    deliver: false,
    recipientKey: 'unused',
    recipientFingerprint: 'unused',
    status,
    fileKey: `bulk/${record.batchId}/input.csv`,
    rows: record.count,
    totalMinor: record.totalMinor,
    chunks: 1,
    chunksDone: status === 'SUCCEEDED' ? 1 : 0,
    rowsDone: 0,
    problems: [],
    moreProblems: 0,
    requestedBy: record.requestedBy,
    createdAt: record.acceptedAt,
    updatedAt: record.acceptedAt,
  } satisfies BulkBatch;
  await createBulkBatch(batch);
  expect(await writeAllOrNothing([bulkInvoicePut(record)])).toBe('committed');
}

beforeAll(async () => {
  stack = await startTestStack({ consumers: [] });
  finance = stack.demo?.staffTokens.finance ?? '';
  for (let index = 0; index < 18; index++) seeded.push(invoiceAt(index));
  for (const invoice of seeded) await seed(invoice);
  seeded.sort((a, b) => `${a.acceptedAt}#${a.batchId}`.localeCompare(`${b.acceptedAt}#${b.batchId}`));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

interface Report {
  items: { batchId: string; status: string | null; merchantId: string | null }[];
  nextCursor: string | null;
  totals: { currency: string; batches: number; cards: number; totalMinor: number }[] | null;
}

const list = (query: string, token = finance) =>
  request<Report>('GET', `/v1/reports/bulk-invoices?${query}`, { token });

/** Every page of a query, following the cursor (at most 50 pages). */
async function allPages(query: string): Promise<Report[]> {
  const pages: Report[] = [];
  let cursor: string | null = null;
  do {
    const answer = await list(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    pages.push(answer.body);
    cursor = answer.body.nextCursor;
  } while (cursor && pages.length < 50);
  return pages;
}

const idsOf = (invoices: readonly { batchId: string }[]) => invoices.map((invoice) => invoice.batchId);

function totalsOf(invoices: readonly Seeded[]) {
  const totals = new Map<string, { currency: string; batches: number; cards: number; totalMinor: number }>();
  for (const invoice of invoices) {
    const total = totals.get(invoice.currency) ?? {
      currency: invoice.currency,
      batches: 0,
      cards: 0,
      totalMinor: 0,
    };
    totals.set(invoice.currency, {
      currency: invoice.currency,
      batches: total.batches + 1,
      cards: total.cards + invoice.count,
      totalMinor: total.totalMinor + invoice.totalMinor,
    });
  }
  return [...totals.values()];
}

describe('GET /v1/reports/bulk-invoices', () => {
  const range = `from=${DAYS[0]}&to=${DAYS[2]}`;

  it('answers each filter with exactly the invoices it names, oldest first, with totals per currency', async () => {
    const cases: [string, (invoice: Seeded) => boolean][] = [
      ['', () => true],
      [`from=${DAYS[1]}&to=${DAYS[1]}`, (invoice) => invoice.acceptedAt.startsWith(DAYS[1])],
      [`programId=${PROGRAM_B}`, (invoice) => invoice.programId === PROGRAM_B],
      ['currency=EUR', (invoice) => invoice.currency === 'EUR'],
      [`merchantId=${MERCHANT}`, (invoice) => invoice.merchantId === MERCHANT],
      ['requestedBy=admin-user-2', (invoice) => invoice.requestedBy.id === 'admin-user-2'],
      // The customer as finance types it: case and outer spaces do not matter.
      ['customer=%20acme%20LTD%20', (invoice) => invoice.customerName === 'Acme Ltd'],
      ['status=FAILED', (invoice) => invoice.status === 'FAILED'],
      [
        `programId=${PROGRAM_A}&currency=USD&status=SUCCEEDED&customer=Acme%20Ltd`,
        (invoice) =>
          invoice.programId === PROGRAM_A &&
          invoice.currency === 'USD' &&
          invoice.status === 'SUCCEEDED' &&
          invoice.customerName === 'Acme Ltd',
      ],
      ['requestedBy=nobody', () => false],
    ];
    for (const [filter, picks] of cases) {
      const query = filter.startsWith('from=') ? filter : `${range}${filter ? `&${filter}` : ''}`;
      const answer = await list(query);
      expect(answer.status, query).toBe(200);
      const expected = seeded.filter(picks);
      expect(idsOf(answer.body.items), query).toEqual(idsOf(expected));
      expect(answer.body.nextCursor, query).toBeNull();
      expect(answer.body.totals, query).toEqual(totalsOf(expected));
    }
    const one = (await list(`${range}&status=RUNNING&limit=1`)).body.items[0];
    const first = seeded.find((invoice) => invoice.status === 'RUNNING');
    expect(one).toMatchObject({ batchId: first?.batchId, status: 'RUNNING', merchantId: null });
  });

  it('pages through every match once with an opaque cursor; the totals come with the first page', async () => {
    const pages = await allPages(`${range}&currency=USD&limit=2`);
    const usd = seeded.filter((invoice) => invoice.currency === 'USD');
    expect(idsOf(pages.flatMap((page) => page.items))).toEqual(idsOf(usd));
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(usd.length / 2));
    expect(pages.every((page) => page.items.length <= 2)).toBe(true);
    expect(pages[0]?.totals).toEqual(totalsOf(usd));
    expect(pages.slice(1).every((page) => page.totals === null)).toBe(true);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    // The default page is 50, the largest 200.
    expect((await list(range)).body.items).toHaveLength(seeded.length);
    expect((await list(`${range}&limit=200`)).status).toBe(200);
  });

  it('cuts a page short at its read bound with a cursor that goes on, and gives no totals past its bound', async () => {
    const range = { fromInstant: `${DAYS[0]}T00:00:00.000Z`, toInstant: `${DAYS[2]}T23:59:59.999Z` };
    const bounds = { readPerPage: 4, totalled: 10 };
    const eur = seeded.filter((invoice) => invoice.currency === 'EUR');
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await bulkInvoiceReport(range, { currency: 'EUR' }, 50, cursor, bounds);
      pages.push(page);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && pages.length < 20);
    // 18 invoices read 4 at a time: 5 pages, some of them empty, every EUR invoice once and in order.
    expect(pages).toHaveLength(Math.ceil(seeded.length / bounds.readPerPage));
    expect(pages.flatMap((page) => page.items.map((found) => found.invoice.batchId))).toEqual(idsOf(eur));
    // 18 invoices in the range, more than 10 to total: none rather than a part.
    expect(pages[0]?.totals).toBeNull();
    const totalled = await bulkInvoiceReport(range, { currency: 'EUR' }, 50, undefined, {
      readPerPage: 4,
      totalled: 100,
    });
    expect(totalled.totals).toEqual(totalsOf(eur));
  });

  it('refuses bad filters as VALIDATION_FAILED naming the field, and changes nothing', async () => {
    const itemsBefore = await tableItemCount();
    const cursor = (await list(`${range}&limit=1`)).body.nextCursor ?? '';
    const forged = (key: Record<string, string>) => Buffer.from(JSON.stringify(key)).toString('base64url');
    const first = seeded[0];
    const bad: [string, string][] = [
      [`from=${DAYS[2]}&to=${DAYS[0]}`, 'query.from'],
      ['from=2025-01-01&to=2026-03-03', 'query.to'],
      ['from=2026-02-30&to=2026-03-03', 'query.from'],
      ['to=2026-03-03', 'query.from'],
      [`${range}&programId=prg_short`, 'query.programId'],
      // A repeated parameter is refused by the gateway layer, which names the parameter alone.
      [`${range}&programId=${PROGRAM_A}&programId=${PROGRAM_B}`, 'programId'],
      [`${range}&currency=XXX`, 'query.currency'],
      [`${range}&merchantId=${PROGRAM_A}`, 'query.merchantId'],
      [`${range}&requestedBy=has%20space`, 'query.requestedBy'],
      [`${range}&requestedBy=${'x'.repeat(129)}`, 'query.requestedBy'],
      [`${range}&customer=${'c'.repeat(201)}`, 'query.customer'],
      [`${range}&customer=Acme%E2%80%AELtd`, 'query.customer'],
      [`${range}&customer=%20%20`, 'query.customer'],
      [`${range}&status=REFUSED`, 'query.status'],
      [`${range}&status=succeeded`, 'query.status'],
      [`${range}&limit=0`, 'query.limit'],
      [`${range}&limit=201`, 'query.limit'],
      [`${range}&limit=ten`, 'query.limit'],
      [`${range}&batchId=x`, 'query.batchId'],
      [`${range}&cursor=not-a-cursor`, 'cursor'],
      [
        `${range}&cursor=${forged({ GSI1PK: 'AUDIT#DAY#2026-03-01', GSI1SK: 'x', PK: 'x', SK: 'y' })}`,
        'cursor',
      ],
      // A cursor of another range (this one's first page) would start outside the range asked for.
      [`from=2026-03-10&to=2026-03-11&cursor=${encodeURIComponent(cursor)}`, 'cursor'],
      [
        `${range}&cursor=${forged({
          GSI1PK: 'BULKINVOICES',
          GSI1SK: `${first?.acceptedAt}#${first?.batchId}`,
          PK: 'CARD#gc_x',
          SK: 'CARD',
        })}`,
        'cursor',
      ],
    ];
    for (const [query, field] of bad) {
      const answer = await request<{ code: string; errors: { field: string }[] }>(
        'GET',
        `/v1/reports/bulk-invoices?${query}`,
        { token: finance },
      );
      expect(answer.status, query).toBe(400);
      expect(answer.headers['content-type'], query).toContain('application/problem+json');
      expect(answer.body.code, query).toBe('VALIDATION_FAILED');
      expect(
        answer.body.errors.map((error) => error.field),
        query,
      ).toContain(field);
    }
    expect(await tableItemCount()).toBe(itemsBefore);
  });

  it('is for finance and admin only', async () => {
    const tokens: Record<string, string> = stack.demo?.staffTokens ?? {};
    expect((await list(range, tokens.admin)).status).toBe(200);
    for (const token of [tokens.support, tokens.ops, stack.demo?.apiKey]) {
      expect((await list(range, token ?? '')).status).toBe(403);
    }
  });
});

async function tableItemCount(): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new ScanCommand({ TableName: tableName(), Select: 'COUNT', ExclusiveStartKey: start }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}
