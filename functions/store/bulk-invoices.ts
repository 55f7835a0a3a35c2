import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BulkInvoiceRecord } from '../core/bulk/bulk-batch-model';
import { db, tableName } from './dynamo-client';
import { BULK_INVOICES_INDEX_PK, bulkInvoiceKey, withoutLayout } from './keys';
import { batchGet } from './listing';
import { decodeCursorWhere, encodeCursor, type Page } from './pagination';
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

/** Invoices accepted in [fromInstant, toInstant), oldest first, a page at a time. */
export async function bulkInvoicesBetween(
  fromInstant: string,
  toInstant: string,
  limit: number,
  cursor?: string,
): Promise<Page<BulkInvoiceRecord>> {
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
      Limit: limit,
      ExclusiveStartKey: decodeCursorWhere(cursor, (key) => key.GSI1PK === BULK_INVOICES_INDEX_PK),
    }),
  );
  const keys = (out.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
  const items = await batchGet(keys);
  return {
    items: keys.flatMap((key) => {
      const item = items.get(`${key.PK}|${key.SK}`);
      return item ? [withoutLayout<BulkInvoiceRecord>(item)] : [];
    }),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

/** Every invoice accepted in [fromInstant, toInstant), a page of 100 at a time (the monthly export). */
export async function* allBulkInvoicesBetween(
  fromInstant: string,
  toInstant: string,
): AsyncGenerator<BulkInvoiceRecord> {
  let cursor: string | undefined;
  // A bound on the pages: 10,000 x 100 invoices in one period is far beyond any customer base.
  for (let page = 0; page < 10_000; page++) {
    const found = await bulkInvoicesBetween(fromInstant, toInstant, 100, cursor);
    yield* found.items;
    if (!found.nextCursor) return;
    cursor = found.nextCursor;
  }
  throw new Error('Bulk invoices: more than 1,000,000 in one period');
}
