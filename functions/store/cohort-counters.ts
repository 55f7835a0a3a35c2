import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CohortCell } from '../core/breakage';
import { COHORT_MEASURES } from '../core/breakage-counters';
import type { LedgerEntry } from '../core/ledger';
import { readItemInBatch } from './batched-reads';
import { db, tableName } from './dynamo-client';
import { cardKey } from './keys';
import { cohortPk, REPORT_SHARDS } from './reports';

/**
 * The breakage forecast's counters (docs/breakage.md), REPORT#COHORT#<shard> items that the reporting
 * consumer keeps in the same transaction as the report counters and the entry's REPORTED marker
 * (functions/store/reports.ts), so an entry adds to them exactly once. The forecast reads one program's (or one currency's) cells from the shards: at most 8 x cohorts x 60
 * small items, however many entries made them.
 */
/**
 * Entries written before they carried their card's issue month get it from the card (one batched read
 * per distinct card; a card that is gone counts in the entry's own month).
 */
export async function withIssueMonths(entries: readonly LedgerEntry[]): Promise<LedgerEntry[]> {
  const missing = [...new Set(entries.filter((entry) => !entry.issueMonth).map((entry) => entry.cardId))];
  if (missing.length === 0) return [...entries];
  const cards = await Promise.all(missing.map((cardId) => readItemInBatch(cardKey(cardId))));
  const months = new Map(
    missing.map((cardId, index) => [cardId, String(cards[index]?.createdAt ?? '').slice(0, 7)]),
  );
  return entries.map((entry) =>
    entry.issueMonth
      ? entry
      : { ...entry, issueMonth: months.get(entry.cardId) || entry.createdAt.slice(0, 7) },
  );
}

/** A cell as stored: the cohort measures of one program and currency. */
export type StoredCohortCell = CohortCell & { readonly currency: string; readonly programId: string };

export interface CohortFilter {
  readonly currency?: string;
  readonly programId?: string;
}

/** Pages per shard: 1 MB pages, far more than any triangle holds. */
const MAX_PAGES = 200;

async function queryShard(shard: number, prefix: string | undefined): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: prefix ? 'PK = :pk AND begins_with(SK, :prefix)' : 'PK = :pk',
        ExpressionAttributeValues: { ':pk': cohortPk(shard), ...(prefix ? { ':prefix': prefix } : {}) },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
    if (!start) return items;
  }
  throw new Error(`Cohort counters of shard ${shard} exceed ${MAX_PAGES} pages`);
}

/** The cohort cells (eventually consistent: they trail the ledger by the stream's delay), shards summed. */
export async function readCohortCells(filter: CohortFilter): Promise<StoredCohortCell[]> {
  const prefix = filter.currency
    ? `${filter.currency}#${filter.programId ? `${filter.programId}#` : ''}`
    : undefined;
  const shards = await Promise.all(
    Array.from({ length: REPORT_SHARDS }, (_, shard) => queryShard(shard, prefix)),
  );
  const cells = new Map<string, Record<string, number | string>>();
  for (const item of shards.flat()) {
    if (filter.programId && item.programId !== filter.programId) continue;
    const id = `${item.currency}#${item.programId}#${item.cohort}#${item.month}`;
    const cell = cells.get(id) ?? {
      currency: String(item.currency),
      programId: String(item.programId),
      cohort: String(item.cohort),
      month: String(item.month),
    };
    for (const measure of COHORT_MEASURES)
      cell[measure] = Number(cell[measure] ?? 0) + Number(item[measure] ?? 0);
    cells.set(id, cell);
  }
  return [...cells.values()].map((cell) => ({
    currency: String(cell.currency),
    programId: String(cell.programId),
    cohort: String(cell.cohort),
    month: String(cell.month),
    loaded: Number(cell.loaded),
    withdrawn: Number(cell.withdrawn),
    redeemed: Number(cell.redeemed),
    expired: Number(cell.expired),
  }));
}
