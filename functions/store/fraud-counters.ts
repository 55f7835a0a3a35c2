import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type ActivationTotals,
  type CounterNeeds,
  type FraudCounters,
  type FraudRuleName,
  isDrain,
  isRedemption,
} from '../core/fraud-rules';
import type { LedgerEntry } from '../core/ledger';
import { db, tableName } from './dynamo-client';
import { backoff } from './transact';

/**
 * The fraud rules' windowed counters in the single table (layout in table-definition.ts):
 *
 *   FRAUD#card#<cardId>                 / SEEN#<seq>       marker: this ledger entry is counted (TTL)
 *   FRAUD#card#<cardId>                 / M#<minute>       the card's redemptions in that minute: count, amount (TTL)
 *   FRAUD#card#<cardId>                 / H#<hour>         merchants the card was redeemed at in that hour (TTL)
 *   FRAUD#card#<cardId>                 / ACTIVATION       activatedAt, activatedValue, drained since (TTL)
 *   FRAUD#merchant#<merchant>#<program> / M#<minute>       the merchant's redemptions in the program (TTL)
 *   FRAUD#<subject>                     / QUIET#<rule>     one alert per subject and rule until `until` (TTL)
 *   FRAUD#caller#<owner>                / F#<window start> failed lookups and PIN checks (store/failed-checks.ts)
 *
 * An entry is counted once: the marker is put (attribute_not_exists) in the same transaction as the
 * counters' ADDs, so a stream record delivered again finds the marker and adds nothing. Windows are
 * read with one strongly consistent Query per counter (a window of W minutes is at most W+1 items).
 */
const cardPk = (cardId: string) => `FRAUD#card#${cardId}`;
const merchantPk = (merchantId: string, programId: string) => `FRAUD#merchant#${merchantId}#${programId}`;
const minuteSk = (iso: string) => `M#${iso.slice(0, 16)}`;
const hourSk = (iso: string) => `H#${iso.slice(0, 13)}`;
const ACTIVATION_SK = 'ACTIVATION';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_S = 86_400;
const epochSeconds = (ms: number) => Math.floor(ms / 1000);
/** Counters outlive the longest window a program may set (24 h of minutes, 7 days of hours). */
const MINUTE_TTL_S = DAY_S + 3600;
const HOUR_TTL_S = 8 * DAY_S;
/** Longer than a stream record can be replayed (the stream keeps records 24 h). */
const MARKER_TTL_S = 7 * DAY_S;
/** DRAIN_AFTER_ACTIVATION windows are at most 24 h. */
const ACTIVATION_WINDOW_MS = 24 * HOUR_MS;

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export type StoredActivation = ActivationTotals;

/** The card's activation record, if the consumer saw its ACTIVATE. */
export async function findActivation(cardId: string): Promise<StoredActivation | undefined> {
  const out = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: { PK: cardPk(cardId), SK: ACTIVATION_SK },
      ConsistentRead: true,
    }),
  );
  const item = out.Item;
  if (!item || typeof item.activatedAt !== 'string') return undefined;
  return {
    activatedAt: item.activatedAt,
    activatedValue: Number(item.activatedValue ?? 0),
    drained: Number(item.drained ?? 0),
  };
}

function add(pk: string, sk: string, values: Record<string, unknown>, ttl: number): TransactItem {
  const names: Record<string, string> = { '#ttl': 'ttl' };
  const adds: string[] = [];
  const expressionValues: Record<string, unknown> = { ':ttl': ttl };
  for (const [name, value] of Object.entries(values)) {
    names[`#${name}`] = name;
    expressionValues[`:${name}`] = value;
    adds.push(`#${name} :${name}`);
  }
  return {
    Update: {
      TableName: tableName(),
      Key: { PK: pk, SK: sk },
      UpdateExpression: `ADD ${adds.join(', ')} SET #ttl = :ttl`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: expressionValues,
    },
  };
}

/** The counter updates one entry makes under these needs (nothing for a rule that is off). */
function counterUpdates(
  entry: LedgerEntry,
  needs: CounterNeeds,
  activation: StoredActivation | undefined,
): TransactItem[] {
  const at = Date.parse(entry.createdAt);
  const amount = Math.abs(entry.amount);
  const updates: TransactItem[] = [];
  if (isRedemption(entry)) {
    const minuteTtl = epochSeconds(at) + MINUTE_TTL_S;
    if (needs.cardWindowMinutes !== undefined) {
      updates.push(add(cardPk(entry.cardId), minuteSk(entry.createdAt), { count: 1, amount }, minuteTtl));
    }
    if (entry.merchantId !== undefined && needs.merchantWindowMinutes !== undefined) {
      updates.push(
        add(
          merchantPk(entry.merchantId, entry.programId),
          minuteSk(entry.createdAt),
          { count: 1, amount },
          minuteTtl,
        ),
      );
    }
    if (entry.merchantId !== undefined && needs.merchantsWindowHours !== undefined) {
      updates.push(
        add(
          cardPk(entry.cardId),
          hourSk(entry.createdAt),
          { merchants: new Set([entry.merchantId]) },
          epochSeconds(at) + HOUR_TTL_S,
        ),
      );
    }
  }
  if (entry.type === 'ACTIVATE' && needs.activation) {
    updates.push({
      Put: {
        TableName: tableName(),
        Item: {
          PK: cardPk(entry.cardId),
          SK: ACTIVATION_SK,
          activatedAt: entry.createdAt,
          activatedValue: entry.balanceAfter,
          drained: 0,
          ttl: epochSeconds(at + ACTIVATION_WINDOW_MS) + 3600,
        },
      },
    });
  }
  if (
    needs.activation &&
    isDrain(entry) &&
    activation &&
    at - Date.parse(activation.activatedAt) <= ACTIVATION_WINDOW_MS
  ) {
    updates.push({
      Update: {
        TableName: tableName(),
        Key: { PK: cardPk(entry.cardId), SK: ACTIVATION_SK },
        UpdateExpression: 'ADD drained :amount',
        ExpressionAttributeValues: { ':amount': amount },
      },
    });
  }
  return updates;
}

/** Lost transaction races (another batch counting at the same merchant) retried before failing. */
const MAX_ATTEMPTS = 6;

/**
 * Counts the entry once: 'counted' when this call added it, 'already' when an earlier delivery did,
 * 'nothing' when no rule needs a counter for it. Throws on table failures (the record is retried).
 */
export async function countEntry(
  entry: LedgerEntry,
  needs: CounterNeeds,
  activation: StoredActivation | undefined,
): Promise<'counted' | 'already' | 'nothing'> {
  const updates = counterUpdates(entry, needs, activation);
  if (updates.length === 0) return 'nothing';
  const marker: TransactItem = {
    Put: {
      TableName: tableName(),
      Item: {
        PK: cardPk(entry.cardId),
        SK: `SEEN#${String(entry.seq).padStart(10, '0')}`,
        entryId: entry.id,
        ttl: epochSeconds(Date.parse(entry.createdAt)) + MARKER_TTL_S,
      },
      // Guarantees: an entry adds to the counters once, however often its record is delivered.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await db().send(new TransactWriteCommand({ TransactItems: [marker, ...updates] }));
      return 'counted';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'already';
      const conflict = reasons.some((reason) => reason.Code === 'TransactionConflict');
      if (!conflict || attempt + 1 >= MAX_ATTEMPTS) throw error;
      await backoff(attempt, 20, 500);
    }
  }
}

async function queryRange(pk: string, from: string, to: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

async function minuteWindow(pk: string, createdAt: string, minutes: number) {
  const from = new Date(Date.parse(createdAt) - minutes * MINUTE_MS).toISOString();
  const items = await queryRange(pk, minuteSk(from), minuteSk(createdAt));
  return items.reduce(
    (totals: { count: number; amount: number }, item) => ({
      count: totals.count + Number(item.count ?? 0),
      amount: totals.amount + Number(item.amount ?? 0),
    }),
    { count: 0, amount: 0 },
  );
}

async function distinctMerchants(cardId: string, createdAt: string, hours: number): Promise<number> {
  const from = new Date(Date.parse(createdAt) - hours * HOUR_MS).toISOString();
  const items = await queryRange(cardPk(cardId), hourSk(from), hourSk(createdAt));
  const merchants = new Set<string>();
  for (const item of items) {
    const set = item.merchants;
    if (set instanceof Set) for (const merchant of set) merchants.add(String(merchant));
  }
  return merchants.size;
}

/**
 * The windows the rules look at, as of the entry's time (counted first, so the entry is in them). A
 * replay reads them as they now are: the alert it would raise is the one already written, or none.
 */
export async function readCounters(
  entry: LedgerEntry,
  needs: CounterNeeds,
  activation: StoredActivation | undefined,
  counted: 'counted' | 'already' | 'nothing',
): Promise<FraudCounters> {
  const [card, merchant, merchants] = await Promise.all([
    needs.cardWindowMinutes !== undefined
      ? minuteWindow(cardPk(entry.cardId), entry.createdAt, needs.cardWindowMinutes)
      : undefined,
    needs.merchantWindowMinutes !== undefined && entry.merchantId !== undefined
      ? minuteWindow(
          merchantPk(entry.merchantId, entry.programId),
          entry.createdAt,
          needs.merchantWindowMinutes,
        )
      : undefined,
    needs.merchantsWindowHours !== undefined
      ? distinctMerchants(entry.cardId, entry.createdAt, needs.merchantsWindowHours)
      : undefined,
  ]);
  const drainedNow =
    activation && needs.activation && isDrain(entry)
      ? // The ACTIVATION item is only ever written by this card's records, handled in order: what was
        // read before counting plus this entry, when this delivery added it.
        {
          ...activation,
          drained: activation.drained + (counted === 'counted' ? Math.abs(entry.amount) : 0),
        }
      : undefined;
  return {
    ...(card ? { card } : {}),
    ...(merchant ? { merchant } : {}),
    ...(merchants !== undefined ? { merchants } : {}),
    ...(drainedNow ? { activation: drainedNow } : {}),
  };
}

/**
 * Takes the subject's quiet period for a rule: true when this entry may raise the alert (nobody holds
 * it, it has passed, or this very entry took it on an earlier delivery); false while another entry's
 * alert covers the burst.
 */
export async function claimQuietPeriod(
  subject: string,
  rule: FraudRuleName,
  entryId: string,
  at: string,
  until: string,
): Promise<boolean> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          PK: `FRAUD#${subject}`,
          SK: `QUIET#${rule}`,
          entryId,
          until,
          ttl: epochSeconds(Date.parse(until)) + DAY_S,
        },
        ConditionExpression: 'attribute_not_exists(PK) OR #until <= :at OR entryId = :entryId',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':at': at, ':entryId': entryId },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
