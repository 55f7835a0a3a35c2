import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  FAILED_CHECKS_WINDOW_MS,
  type FailureCounts,
  type FailureLimits,
  windowStartOf,
} from '../core/check-limits';
import { readItemInBatch } from './batched-reads';
import { db, tableName } from './dynamo-client';

/**
 * Failed lookups and PIN checks, counted once for two readers: the limit that refuses a caller with too
 * many of them (functions/http/rate-limit.ts) and the fraud rule FAILED_CHECKS_KEY (the fraud consumer
 * reads the item's old and new image from the stream). One item per owner and fixed window:
 *
 *   FRAUD#caller#merchant#<merchantId> / F#<window start>   count (all the merchant's keys), by#key#<id>
 *                                                            (each key's), merchantId, callerLimit (TTL)
 *   FRAUD#caller#staff#<sub>           / F#<window start>   count, caller, callerLimit (TTL)
 *   FRAUD#caller#ip#<source ip>        / F#<window start>   count, caller, callerLimit (TTL)
 *
 * An API key's failures and its merchant's total sit in one item, so a failure is one write and the limit
 * reads both with the item of this window and the one before. Successes write nothing.
 */
export const FAILED_CHECKS_PK_PREFIX = 'FRAUD#caller#';
/** The attribute holding one API key's count in its merchant's item. */
export const CALLER_COUNT_PREFIX = 'by#';

/** Whose failures an item counts, and which caller within it. */
export interface FailureSubject {
  /** `merchant#<id>` for API keys; otherwise the caller itself. */
  readonly owner: string;
  /** `key#<id>`, `staff#<sub>`, `ip#<address>`. */
  readonly caller: string;
  readonly merchantId?: string;
}

const DAY_S = 86_400;
const pkOf = (subject: FailureSubject) => `${FAILED_CHECKS_PK_PREFIX}${subject.owner}`;
const skOf = (windowStart: number) => `F#${new Date(windowStart).toISOString()}`;
const ownsOthers = (subject: FailureSubject) => subject.owner !== subject.caller;
const callerAttribute = (subject: FailureSubject) => `${CALLER_COUNT_PREFIX}${subject.caller}`;

function countsOf(
  subject: FailureSubject,
  items: readonly Record<string, unknown>[],
  now: number,
): FailureCounts {
  const currentSk = skOf(windowStartOf(now));
  const previousSk = skOf(windowStartOf(now) - FAILED_CHECKS_WINDOW_MS);
  const read = (sk: string, attribute: string) =>
    Number(items.find((item) => item.SK === sk)?.[attribute] ?? 0);
  const owner = { current: read(currentSk, 'count'), previous: read(previousSk, 'count') };
  if (!ownsOthers(subject)) return { owner, caller: owner };
  const mine = callerAttribute(subject);
  return { owner, caller: { current: read(currentSk, mine), previous: read(previousSk, mine) } };
}

/**
 * This window's and the previous window's counts: two strongly consistent reads in a batch that any read
 * started in the same turn (the lookup's card read) joins: one BatchGetItem (store/batched-reads.ts).
 */
export async function readFailureCounts(subject: FailureSubject, now: number): Promise<FailureCounts> {
  const start = windowStartOf(now);
  const items = await Promise.all(
    [start - FAILED_CHECKS_WINDOW_MS, start].map((windowStart) =>
      readItemInBatch({ PK: pkOf(subject), SK: skOf(windowStart) }),
    ),
  );
  return countsOf(
    subject,
    items.filter((item): item is Record<string, unknown> => item !== undefined),
    now,
  );
}

export type FailureCounted =
  | { readonly counted: true }
  /** No room was left: nothing was written; this window's counts as they were. */
  | { readonly counted: false; readonly current: { readonly owner: number; readonly caller: number } };

/**
 * Counts one failure with one UpdateItem, on the condition that every count it adds to is still below
 * its cap (core/check-limits.ts capsOf); without caps it counts whatever the counts (failures on routes
 * that are not limited, kept for the fraud rule only). `callerLimit` is kept on the item for the fraud rule (an alert fires before a caller is
 * stopped, whatever its limit).
 */
export async function countFailure(
  subject: FailureSubject,
  caps: FailureLimits | undefined,
  callerLimit: number,
  now: number,
): Promise<FailureCounted> {
  const start = windowStartOf(now);
  const perCaller = ownsOthers(subject);
  const names: Record<string, string> = { '#count': 'count', '#ttl': 'ttl' };
  const values: Record<string, unknown> = {
    ':one': 1,
    ':ttl': Math.floor(now / 1000) + DAY_S,
    ':start': new Date(start).toISOString(),
    ':callerLimit': callerLimit,
  };
  if (perCaller) names['#by'] = callerAttribute(subject);
  if (subject.merchantId) values[':merchant'] = subject.merchantId;
  else values[':caller'] = subject.caller;
  const conditions: string[] = [];
  if (caps) {
    // Guarantees: no count passes its limit, however many failures are counted at once, anywhere.
    conditions.push('(attribute_not_exists(#count) OR #count < :ownerCap)');
    values[':ownerCap'] = caps.owner;
    if (perCaller) {
      conditions.push('(attribute_not_exists(#by) OR #by < :callerCap)');
      values[':callerCap'] = caps.caller;
    }
  }
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { PK: pkOf(subject), SK: skOf(start) },
        UpdateExpression: `ADD #count :one${perCaller ? ', #by :one' : ''} SET #ttl = :ttl, windowStart = :start, callerLimit = :callerLimit, ${
          subject.merchantId ? 'merchantId = :merchant' : 'caller = :caller'
        }`,
        ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { counted: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const counts = countsOf(subject, error.Item ? [unmarshall(error.Item)] : [], now);
    return { counted: false, current: { owner: counts.owner.current, caller: counts.caller.current } };
  }
}

/** The callers an item counts and each one's count (the fraud consumer's view of a stream image). */
export function callerCountsOf(item: Record<string, unknown>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(CALLER_COUNT_PREFIX))
      counts.set(name.slice(CALLER_COUNT_PREFIX.length), Number(value));
  }
  if (counts.size === 0 && typeof item.caller === 'string') counts.set(item.caller, Number(item.count ?? 0));
  return counts;
}
