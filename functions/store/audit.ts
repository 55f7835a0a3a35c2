import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditRecord, statusAfterEntry } from '../core/audit';
import type { CardStatus } from '../core/card';
import type { EntryType } from '../core/ledger';
import { db, tableName } from './dynamo-client';
import { entrySortKey } from './keys';
import { batchGet } from './listing';
import { decodeCursorWhere, encodeCursor, type Page } from './pagination';
import type { TransactItem } from './transact';

/**
 * The audit trail in the single table (layout in table-definition.ts):
 *
 *   AUDIT#<id> / AUDIT   one record   GSI1: AUDIT#ACTOR#<actorId> / <at>#<id>
 *                                     GSI2: AUDIT#DAY#<yyyy-mm-dd> / <at>#<id>
 *                                     GSI3: AUDIT#CARD#<cardId> (else AUDIT#<subjectType>#<id>) / <at>#<id>
 *
 * Write-once: every write is a Put conditioned on the record not existing, and this module has no
 * update or delete. Records are kept without TTL.
 */
const recordKey = (id: string) => ({ PK: `AUDIT#${id}`, SK: 'AUDIT' });
const actorPk = (actorId: string) => `AUDIT#ACTOR#${actorId}`;
const dayPk = (day: string) => `AUDIT#DAY#${day}`;
/** Records about a card (its entries, its fraud alerts' steps) list under the card. */
const subjectPk = (record: Pick<AuditRecord, 'subjectType' | 'subjectId' | 'cardId'>) =>
  record.cardId ? cardPk(record.cardId) : `AUDIT#${record.subjectType}#${record.subjectId}`;
const cardPk = (cardId: string) => `AUDIT#CARD#${cardId}`;
const listSk = (record: Pick<AuditRecord, 'at' | 'id'>) => `${record.at}#${record.id}`;

const LAYOUT = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK'];

function toRecord(item: Record<string, unknown>): AuditRecord {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of LAYOUT) delete copy[attribute];
  return copy as unknown as AuditRecord;
}

const recordItem = (record: AuditRecord) => ({
  ...recordKey(record.id),
  GSI1PK: actorPk(record.actor.id),
  GSI1SK: listSk(record),
  GSI2PK: dayPk(record.at.slice(0, 10)),
  GSI2SK: listSk(record),
  GSI3PK: subjectPk(record),
  GSI3SK: listSk(record),
  ...record,
});

/** The record as one action of the transaction that makes the change it records. */
export const auditInsert = (record: AuditRecord): TransactItem => ({
  Put: {
    TableName: tableName(),
    Item: recordItem(record),
    // Guarantees: an audit record is written once and never overwritten.
    ConditionExpression: 'attribute_not_exists(PK)',
  },
});

/** Writes a record once (the stream projection of card entries); one already there stands. */
export async function recordAudit(record: AuditRecord): Promise<void> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: recordItem(record),
        // Guarantees: a replayed stream record never writes or alters a record twice.
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** A card's status before entry `seq`, from the last earlier entry that set one. */
export async function cardStatusBefore(cardId: string, seq: number): Promise<CardStatus | undefined> {
  if (seq <= 1) return undefined;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': `CARD#${cardId}`,
          ':first': entrySortKey(1),
          ':last': entrySortKey(Math.max(1, seq - 1)),
        },
        ProjectionExpression: '#type',
        ExpressionAttributeNames: { '#type': 'type' },
        ScanIndexForward: false,
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const status = statusAfterEntry(item.type as EntryType);
      if (status) return status;
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return undefined;
}

export interface AuditFilter {
  readonly cardId?: string;
  readonly actor?: string;
  /** ISO instants, both included. */
  readonly from: string;
  readonly to: string;
  readonly limit: number;
  readonly cursor?: string;
}

type Key = Record<string, string>;

/** Cursors carry the index key to go on from (a day walk may name only the next day's partition). */
function readCursor(
  cursor: string | undefined,
  pkName: string,
  allowed: (pk: string) => boolean,
): Key | undefined {
  return decodeCursorWhere(cursor, (key) => {
    const pk = key[pkName];
    return pk !== undefined && allowed(pk);
  });
}

async function queryPartition(
  indexName: 'GSI1' | 'GSI2' | 'GSI3',
  partition: string,
  filter: AuditFilter,
  limit: number,
  start: Key | undefined,
): Promise<{ keys: { PK: string; SK: string }[]; last: Record<string, unknown> | undefined }> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: indexName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': `${indexName}PK`, '#sk': `${indexName}SK` },
      ExpressionAttributeValues: { ':pk': partition, ':from': filter.from, ':to': `${filter.to}~` },
      Limit: limit,
      ScanIndexForward: false,
      ...(start?.[`${indexName}SK`] ? { ExclusiveStartKey: start } : {}),
    }),
  );
  return {
    keys: (out.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) })),
    last: out.LastEvaluatedKey,
  };
}

async function load(keys: { PK: string; SK: string }[], filter: AuditFilter): Promise<AuditRecord[]> {
  const items = await batchGet(keys);
  return keys.flatMap((key) => {
    const item = items.get(`${key.PK}|${key.SK}`);
    if (!item) return [];
    const record = toRecord(item);
    // A card and an actor together: the card's records (its index), those of that actor.
    return filter.actor && record.actor.id !== filter.actor ? [] : [record];
  });
}

/**
 * Records newest first: of one card (GSI3), of one actor (GSI1), or of every day from `to` back to
 * `from` (GSI2, one day partition after the other), always within [from, to].
 */
export async function listAudit(filter: AuditFilter): Promise<Page<AuditRecord>> {
  if (filter.cardId || filter.actor) {
    const [indexName, partition] = filter.cardId
      ? (['GSI3', cardPk(filter.cardId)] as const)
      : (['GSI1', actorPk(filter.actor ?? '')] as const);
    const start = readCursor(filter.cursor, `${indexName}PK`, (pk) => pk === partition);
    const page = await queryPartition(indexName, partition, filter, filter.limit, start);
    return { items: await load(page.keys, filter), nextCursor: encodeCursor(page.last) };
  }
  const firstDay = filter.from.slice(0, 10);
  const inRange = (pk: string) => {
    const day = pk.slice('AUDIT#DAY#'.length);
    return pk.startsWith('AUDIT#DAY#') && day >= firstDay && day <= filter.to.slice(0, 10);
  };
  let start = readCursor(filter.cursor, 'GSI2PK', inRange);
  let day = start ? String(start.GSI2PK).slice('AUDIT#DAY#'.length) : filter.to.slice(0, 10);
  const keys: { PK: string; SK: string }[] = [];
  for (;;) {
    const page = await queryPartition('GSI2', dayPk(day), filter, filter.limit - keys.length, start);
    keys.push(...page.keys);
    start = undefined;
    const previousDay = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    if (keys.length >= filter.limit) {
      const next = page.last ?? (previousDay >= firstDay ? { GSI2PK: dayPk(previousDay) } : undefined);
      return { items: await load(keys, filter), nextCursor: encodeCursor(next) };
    }
    if (page.last) {
      start = page.last as Key;
      continue;
    }
    if (previousDay < firstDay) return { items: await load(keys, filter), nextCursor: null };
    day = previousDay;
  }
}
