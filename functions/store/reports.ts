import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { cohortDeltas } from '../core/breakage-counters';
import type { LedgerEntry } from '../core/ledger';
import {
  addCounters,
  emptyCounters,
  entryCounters,
  monthsBetween,
  NO_MERCHANT,
  REPORT_METRICS,
  type ReportData,
  type ReportMetric,
  reportDay,
} from '../core/report';
import { db, tableName } from './dynamo-client';
import { shardOf } from './keys';
import { backoff, type TransactItem } from './transact';

/**
 * Report aggregates in the single table (layout in table-definition.ts):
 *
 *   REPORT#<yyyy-mm>#<shard> / <currency>#<programId>#<yyyy-mm-dd>#<merchantId or ->
 *        counters of one program, merchant, currency and UTC day (every REPORT_METRICS attribute)
 *   REPORT#MONTHS#<shard>    / <currency>#<programId>#<yyyy-mm>
 *        netChange of one program, currency and month: the liability at any day is the months before
 *        it plus that month's days, so a report never reads more than one month of days beyond its range
 *   REPORT#COHORT#<shard>    / <currency>#<programId>#<cohort yyyy-mm>#<month yyyy-mm>
 *        the breakage forecast's loaded, withdrawn, redeemed and expired value of one program's cards
 *        issued in the cohort month (the entry's issueMonth), moved in one calendar month (UTC); what each
 *        entry adds: functions/core/breakage-counters.ts; read by store/cohort-counters.ts
 *   REPORTED#<entryId>       / REPORTED   marker: the entry was counted (TTL MARKER_TTL_S)
 *
 * Counters are split over REPORT_SHARDS partitions (a transaction writes one shard, chosen by the id of
 * its first entry) and summed on read, so one busy program never makes one item or partition hot.
 *
 * Counting once: the counters and one `attribute_not_exists` marker per entry are written in ONE
 * TransactWriteItems, so an entry's deltas land together with its marker or not at all. A replayed
 * record finds its marker: that transaction is cancelled and nothing is added; the entries of that
 * chunk are then counted one transaction each, where the already-counted ones are skipped.
 */
export const REPORT_SHARDS = 8;
/** Longer than the stream keeps records (24 h): a record can only be replayed while its marker lives. */
export const MARKER_TTL_S = 3 * 86_400;
const MAX_ACTIONS = 100;
const MAX_ATTEMPTS = 6;

const dayPk = (month: string, shard: number) => `REPORT#${month}#${shard}`;
const monthsPk = (shard: number) => `REPORT#MONTHS#${shard}`;
export const cohortPk = (shard: number) => `REPORT#COHORT#${shard}`;
const markerKey = (entryId: string) => ({ PK: `REPORTED#${entryId}`, SK: 'REPORTED' });

/** One counter item a transaction adds to. */
interface CounterUpdate {
  readonly key: { PK: string; SK: string };
  readonly attributes: Record<string, string>;
  readonly deltas: Record<string, number>;
}

/** The breakage cohort cell an entry adds to; none for entries that move no value or lack their cohort. */
function cohortUpdateOf(entry: LedgerEntry, shard: number): CounterUpdate | undefined {
  const deltas = cohortDeltas(entry);
  if (!deltas || !entry.issueMonth) return undefined;
  const month = entry.createdAt.slice(0, 7);
  return {
    key: { PK: cohortPk(shard), SK: `${entry.currency}#${entry.programId}#${entry.issueMonth}#${month}` },
    attributes: { currency: entry.currency, programId: entry.programId, cohort: entry.issueMonth, month },
    deltas,
  };
}

function counterUpdatesOf(entry: LedgerEntry, shard: number): CounterUpdate[] {
  const counters = entryCounters(entry);
  if (!counters) return [];
  const day = reportDay(entry.createdAt);
  const month = day.slice(0, 7);
  const merchantId = entry.merchantId ?? NO_MERCHANT;
  const updates: CounterUpdate[] = [
    {
      key: { PK: dayPk(month, shard), SK: `${entry.currency}#${entry.programId}#${day}#${merchantId}` },
      attributes: { currency: entry.currency, programId: entry.programId, day, merchantId },
      deltas: counters,
    },
  ];
  if (counters.netChange)
    updates.push({
      key: { PK: monthsPk(shard), SK: `${entry.currency}#${entry.programId}#${month}` },
      attributes: { currency: entry.currency, programId: entry.programId, month },
      deltas: { netChange: counters.netChange },
    });
  const cohort = cohortUpdateOf(entry, shard);
  if (cohort) updates.push(cohort);
  return updates;
}

function merge(into: Map<string, CounterUpdate>, updates: CounterUpdate[]): void {
  for (const update of updates) {
    const id = `${update.key.PK}|${update.key.SK}`;
    const existing = into.get(id);
    if (!existing) {
      into.set(id, { ...update, deltas: { ...update.deltas } });
      continue;
    }
    for (const [name, value] of Object.entries(update.deltas)) {
      existing.deltas[name] = (existing.deltas[name] ?? 0) + value;
    }
  }
}

function updateItem(update: CounterUpdate): TransactItem {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const adds: string[] = [];
  const sets: string[] = [];
  Object.entries(update.deltas)
    .filter(([, value]) => value !== 0)
    .forEach(([name, value], index) => {
      names[`#m${index}`] = name;
      values[`:m${index}`] = value;
      adds.push(`#m${index} :m${index}`);
    });
  Object.entries(update.attributes).forEach(([name, value], index) => {
    names[`#a${index}`] = name;
    values[`:a${index}`] = value;
    sets.push(`#a${index} = :a${index}`);
  });
  return {
    Update: {
      TableName: tableName(),
      Key: update.key,
      UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

const markerPut = (entry: LedgerEntry, now: Date): TransactItem => ({
  Put: {
    TableName: tableName(),
    Item: { ...markerKey(entry.id), ttl: Math.floor(now.getTime() / 1000) + MARKER_TTL_S },
    // Guarantees: an entry adds to the report once, however often its stream record is delivered.
    ConditionExpression: 'attribute_not_exists(PK)',
  },
});

type Attempt = 'committed' | 'already' | 'conflict';

async function commit(entries: LedgerEntry[], now: Date): Promise<Attempt> {
  const first = entries[0];
  if (!first) return 'committed';
  const shard = shardOf(first.id, REPORT_SHARDS);
  const updates = new Map<string, CounterUpdate>();
  for (const entry of entries) merge(updates, counterUpdatesOf(entry, shard));
  const items = [...entries.map((entry) => markerPut(entry, now)), ...[...updates.values()].map(updateItem)];
  try {
    await db().send(new TransactWriteCommand({ TransactItems: items }));
    return 'committed';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons.slice(0, entries.length).some((reason) => reason.Code === 'ConditionalCheckFailed')) {
      return 'already';
    }
    if (reasons.some((reason) => reason.Code === 'TransactionConflict')) return 'conflict';
    throw error;
  }
}

/** Entries in chunks whose markers and counter items fit one transaction. */
function chunks(entries: readonly LedgerEntry[]): LedgerEntry[][] {
  const result: LedgerEntry[][] = [];
  let current: LedgerEntry[] = [];
  let keys = new Set<string>();
  for (const entry of entries) {
    // Counted with shard 0: a chunk writes one shard, so distinct items do not depend on it.
    const entryKeys = counterUpdatesOf(entry, 0).map((update) => `${update.key.PK}|${update.key.SK}`);
    const nextKeys = new Set([...keys, ...entryKeys]);
    if (current.length > 0 && current.length + 1 + nextKeys.size > MAX_ACTIONS) {
      result.push(current);
      current = [];
      keys = new Set(entryKeys);
    } else keys = nextKeys;
    current.push(entry);
  }
  if (current.length > 0) result.push(current);
  return result;
}

async function countOne(entry: LedgerEntry, now: Date): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await commit([entry], now);
    if (outcome !== 'conflict') return;
    if (attempt + 1 >= MAX_ATTEMPTS) throw new Error(`report counters of ${entry.id} stayed busy`);
    await backoff(attempt, 20, 500);
  }
}

/**
 * Primary course: count the entries in as few transactions as fit (one per chunk of up to 100 actions);
 * a chunk that meets an entry already counted, stays busy or fails is counted entry by entry.
 * Returns the ids of the entries that could not be counted (their records are retried).
 */
export async function countEntries(entries: readonly LedgerEntry[], now = new Date()): Promise<Set<string>> {
  const failed = new Set<string>();
  const unique = new Map(entries.map((entry) => [entry.id, entry]));
  const reported = [...unique.values()].filter((entry) => entryCounters(entry) !== undefined);
  for (const chunk of chunks(reported)) {
    let outcome: Attempt | 'failed' = 'conflict';
    for (let attempt = 0; attempt < 3 && outcome === 'conflict'; attempt++) {
      if (attempt > 0) await backoff(attempt, 20, 500);
      outcome = await commit(chunk, now).catch(() => 'failed' as const);
    }
    if (outcome === 'committed') continue;
    for (const entry of chunk) {
      try {
        await countOne(entry, now);
      } catch {
        failed.add(entry.id);
      }
    }
  }
  return failed;
}

export interface ReportFilter {
  readonly from: string;
  readonly to: string;
  readonly programId?: string;
  readonly currency?: string;
  readonly merchantId?: string;
}

async function queryAll(pk: string, prefix: string | undefined): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: prefix ? 'PK = :pk AND begins_with(SK, :prefix)' : 'PK = :pk',
        ExpressionAttributeValues: { ':pk': pk, ...(prefix ? { ':prefix': prefix } : {}) },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Runs the reads a few at a time. */
async function inParallel<T>(tasks: (() => Promise<T>)[], width = 16): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      const task = tasks[index];
      if (task) results[index] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}

/**
 * Reads the aggregates of a range (eventually consistent: the counters trail the ledger by the stream's
 * delay). Reads the day items of the months from `from` to `to` (all shards) and the month items before
 * the first of them, and sums them: range totals, plus the liability at the start of the range.
 */
export async function readReport(filter: ReportFilter): Promise<ReportData> {
  const prefix = filter.currency
    ? `${filter.currency}#${filter.programId ? `${filter.programId}#` : ''}`
    : undefined;
  const months = monthsBetween(filter.from, filter.to);
  const firstMonth = months[0] ?? filter.from.slice(0, 7);
  const shards = Array.from({ length: REPORT_SHARDS }, (_, shard) => shard);
  const ofProgram = (item: Record<string, unknown>) =>
    !filter.programId || item.programId === filter.programId;

  const [dayItems, monthItems] = await Promise.all([
    inParallel(months.flatMap((month) => shards.map((shard) => () => queryAll(dayPk(month, shard), prefix)))),
    inParallel(shards.map((shard) => () => queryAll(monthsPk(shard), prefix))),
  ]);

  const opening = new Map<string, number>();
  const addOpening = (currency: string, value: number) =>
    opening.set(currency, (opening.get(currency) ?? 0) + value);
  for (const item of monthItems.flat()) {
    if (!ofProgram(item) || String(item.month) >= firstMonth) continue;
    addOpening(String(item.currency), Number(item.netChange ?? 0));
  }

  const days = new Map<string, { counters: Record<ReportMetric, number>; liabilityChange: number }>();
  for (const item of dayItems.flat()) {
    if (!ofProgram(item)) continue;
    const day = String(item.day);
    const currency = String(item.currency);
    const net = Number(item.netChange ?? 0);
    if (day < filter.from) {
      // Days of the first month before the range: part of the opening liability.
      addOpening(currency, net);
      continue;
    }
    if (day > filter.to) continue;
    const id = `${day}|${currency}`;
    const totals = days.get(id) ?? { counters: emptyCounters(), liabilityChange: 0 };
    totals.liabilityChange += net;
    if (!filter.merchantId || item.merchantId === filter.merchantId) {
      const counters: Partial<Record<ReportMetric, number>> = {};
      for (const metric of REPORT_METRICS) counters[metric] = Number(item[metric] ?? 0);
      addCounters(totals.counters, counters);
    }
    days.set(id, totals);
  }
  return {
    opening,
    days: [...days.entries()]
      .map(([id, totals]) => {
        const [day = '', currency = ''] = id.split('|');
        return { day, currency, ...totals };
      })
      .sort((a, b) => (a.day === b.day ? a.currency.localeCompare(b.currency) : a.day < b.day ? -1 : 1)),
  };
}
