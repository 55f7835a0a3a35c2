import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { BULK_STATUSES, type BulkInvoiceRecord } from '../core/bulk/bulk-batch-model';
import type { BulkInvoiceWithStatus } from '../core/bulk/bulk-invoice-filter';
import { db, tableName } from './dynamo-client';
import { BULK_INVOICES_INDEX_PK, bulkBatchKey, bulkInvoiceKey, withoutLayout } from './keys';
import { batchGet } from './listing';
import { decodeCursorWhere, encodeCursor } from './pagination';
import type { TransactItem } from './transact';

/**
 * Accepted bulk batches' invoice summaries (issue #19), for finance: one item a batch, written in the same
 * transaction that accepts it, and found by acceptance time on GSI1 (BULKINVOICES / <acceptedAt>#<id>).
 *
 *   BULK#<id> / INVOICE   count, total, currency, program, customer, who asked, when accepted
 */
export const bulkInvoicePut = (invoice: BulkInvoiceRecord): TransactItem => ({
  Put: {
    TableName: tableName(),
    Item: {
      ...bulkInvoiceKey(invoice.batchId),
      GSI1PK: BULK_INVOICES_INDEX_PK,
      GSI1SK: `${invoice.acceptedAt}#${invoice.batchId}`,
      ...invoice,
    },
    // Guarantees: a batch is invoiced once.
    ConditionExpression: 'attribute_not_exists(PK)',
  },
});

/** An invoice as the range walk finds it, with the cursor that resumes the walk after it. */
export interface RangedBulkInvoice extends BulkInvoiceWithStatus {
  /** Resumes after this invoice; null when it is the last of the range. */
  readonly cursor: string | null;
}

/** Index keys read per Query (and items per BatchGet) while walking a range. */
const WALK_PAGE = 100;

/**
 * A cursor of this index partition inside [fromInstant, toInstant) (Query refuses a start key outside its
 * range), whose keys are one invoice's; anything else is refused as not this list's.
 */
function rangeCursor(cursor: string | undefined, fromInstant: string, toInstant: string) {
  return decodeCursorWhere(cursor, (key) => {
    const batchId = (key.PK ?? '').slice('BULK#'.length);
    const position = key.GSI1SK ?? '';
    return (
      key.GSI1PK === BULK_INVOICES_INDEX_PK &&
      position >= fromInstant &&
      position < toInstant &&
      batchId !== '' &&
      key.PK === bulkInvoiceKey(batchId).PK &&
      key.SK === bulkInvoiceKey(batchId).SK &&
      position.endsWith(`#${batchId}`)
    );
  });
}

/**
 * The invoices accepted in [fromInstant, toInstant) from `cursor` on, oldest first, each with its batch's
 * status now, read WALK_PAGE at a time (the index is keys-only: one Query, then one BatchGet for the
 * invoices and one for the batches' statuses). The caller stops when it has read enough.
 */
export async function* bulkInvoicesInRange(
  fromInstant: string,
  toInstant: string,
  cursor?: string,
  { withStatus = true }: { readonly withStatus?: boolean } = {},
): AsyncGenerator<RangedBulkInvoice> {
  let start: Record<string, unknown> | undefined = rangeCursor(cursor, fromInstant, toInstant);
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: 'GSI1',
        // '#' sorts before every character of an id, so `<to>#` excludes invoices accepted at `to` itself.
        KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': BULK_INVOICES_INDEX_PK,
          ':from': fromInstant,
          ':to': `${toInstant}#`,
        },
        Limit: WALK_PAGE,
        ExclusiveStartKey: start,
      }),
    );
    const positions = out.Items ?? [];
    const invoices = await readInvoices(
      positions.map((item) => ({ PK: String(item.PK), SK: String(item.SK) })),
      withStatus,
    );
    const last = positions.length - 1;
    for (const [at, position] of positions.entries()) {
      const found = invoices.get(String(position.PK));
      const after = at === last && !out.LastEvaluatedKey ? null : encodeCursor(position);
      if (found) yield { ...found, cursor: after };
    }
    start = out.LastEvaluatedKey;
  } while (start);
}

/**
 * The invoices under `keys` by invoice PK (the batch's), with their batches' statuses unless `withStatus`
 * is false (the export has no use for them: one BatchGet a page fewer).
 */
async function readInvoices(
  keys: { PK: string; SK: string }[],
  withStatus: boolean,
): Promise<Map<string, BulkInvoiceWithStatus>> {
  const batchKeys = new Map(keys.map((key) => [key.PK, bulkBatchKey(key.PK.slice('BULK#'.length))]));
  const [invoiceItems, batchItems] = await Promise.all([
    batchGet(keys),
    withStatus ? batchGet([...batchKeys.values()], ['status']) : new Map<string, Record<string, unknown>>(),
  ]);
  const found = new Map<string, BulkInvoiceWithStatus>();
  for (const key of keys) {
    const item = invoiceItems.get(`${key.PK}|${key.SK}`);
    if (!item) continue;
    const batchKey = batchKeys.get(key.PK);
    const status = batchKey && batchItems.get(`${batchKey.PK}|${batchKey.SK}`)?.status;
    found.set(key.PK, {
      invoice: withoutLayout<BulkInvoiceRecord>(item),
      status: BULK_STATUSES.find((known) => known === status),
    });
  }
  return found;
}

/** Every invoice accepted in [fromInstant, toInstant), oldest first (the monthly export). */
export async function* allBulkInvoicesBetween(
  fromInstant: string,
  toInstant: string,
): AsyncGenerator<BulkInvoiceRecord> {
  for await (const found of bulkInvoicesInRange(fromInstant, toInstant, undefined, { withStatus: false })) {
    yield found.invoice;
  }
}
