import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type BucketLimits, type BucketState, fullAfterMs, fullAt, takeToken } from '../core/token-bucket';
import { oneAtATime } from './card-queue';
import { db, tableName } from './dynamo-client';
import { rateLimitKey } from './keys';

/**
 * Rate limits as token buckets in the table, one item per bucket (`RATE#<scope>` / `RATE`), so a limit
 * holds across every Lambda instance. A request takes a token with ONE conditional UpdateItem that
 * compares the bucket's revision with the one the arithmetic (core/token-bucket.ts) started from; a
 * lost race hands back the stored bucket in the same call (ReturnValuesOnConditionCheckFailure ALL_OLD)
 * and the take is planned again from it. No read-then-write without a condition: whatever runs in
 * parallel, across processes, never more tokens are taken than the bucket holds.
 *
 * A bucket not seen before (or idle long enough to be full again) is written blind, on the condition
 * that it is absent or that old. The item carries `ttl` at the time it is full again (plus a margin):
 * an idle bucket is as good as absent, and DynamoDB deletes it.
 *
 * Cost: one write per allowed request (1 WCU, the item is ~100 bytes), two when another instance
 * wrote the bucket since this one last did (a failed condition costs a write too). Within a warm
 * instance a refusal costs nothing once the bucket is known empty: a bucket only ever holds fewer tokens
 * than this instance last saw (others take, nobody gives back), so a refusal computed from the last
 * state seen is never wrong; only its Retry-After may be too short.
 */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Whole seconds until the caller may try again; 0 when allowed. */
  readonly retryAfterSeconds: number;
}

/** Lost races retried per request; a bucket this contended answers "try again in a second". */
const MAX_ATTEMPTS = 5;
/** Idle buckets live this long past the time they are full again, then TTL deletes them. */
const TTL_MARGIN_SECONDS = 300;
/** Buckets remembered per process (last state seen); beyond this the oldest is forgotten. */
const MAX_REMEMBERED = 10_000;

interface KnownBucket {
  readonly state: BucketState;
  readonly rev: number;
}

const remembered = new Map<string, KnownBucket>();

/** `memory` is `<table>|<scope>`: tests use several tables in one process. */
function remember(memory: string, bucket: KnownBucket | undefined): void {
  remembered.delete(memory);
  if (!bucket) return;
  if (remembered.size >= MAX_REMEMBERED) {
    const oldest = remembered.keys().next();
    if (!oldest.done) remembered.delete(oldest.value);
  }
  remembered.set(memory, bucket);
}

function bucketOf(item: Record<string, unknown> | undefined): KnownBucket | undefined {
  if (!item) return undefined;
  const { tokens, refilledAt, rev } = item;
  if (typeof tokens !== 'number' || typeof refilledAt !== 'number' || typeof rev !== 'number') {
    return undefined;
  }
  return { state: { tokens, refilledAt }, rev };
}

const ttlOf = (state: BucketState, limits: BucketLimits): number =>
  Math.ceil(fullAt(state, limits) / 1000) + TTL_MARGIN_SECONDS;

const jitter = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));

/**
 * Takes one token from the bucket `scope` (any string naming the limit and whom it counts, e.g.
 * `lookup#key#<keyId>`) under `limits`, at `now` (epoch ms).
 */
export function consume(scope: string, limits: BucketLimits, now = Date.now()): Promise<RateLimitDecision> {
  // Within a process, takes from one bucket queue up rather than racing into failed conditions.
  return oneAtATime(`RATE#${scope}`, () => takeFromBucket(scope, limits, now));
}

/**
 * `consume` without the in-process queue: concurrent calls race each other through the write
 * conditions, as separate Lambda instances do. For tests of those conditions.
 */
export async function takeFromBucket(
  scope: string,
  limits: BucketLimits,
  now = Date.now(),
): Promise<RateLimitDecision> {
  const table = tableName();
  const memory = `${table}|${scope}`;
  let known = remembered.get(memory);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // A bucket last seen long enough ago is full again whatever it held: treat it as unknown.
    if (known && known.state.refilledAt <= now - fullAfterMs(limits)) known = undefined;
    const decision = takeToken(known?.state, limits, now);
    if (!decision.allowed) {
      return { allowed: false, retryAfterSeconds: decision.retryAfterSeconds };
    }
    const { state } = decision;
    try {
      const result = await db().send(
        new UpdateCommand({
          TableName: table,
          Key: rateLimitKey(scope),
          UpdateExpression: known
            ? 'SET tokens = :tokens, refilledAt = :refilledAt, #ttl = :ttl, rev = :next'
            : 'SET tokens = :tokens, refilledAt = :refilledAt, #ttl = :ttl, rev = if_not_exists(rev, :zero) + :one',
          ConditionExpression: known
            ? 'rev = :rev'
            : 'attribute_not_exists(rev) OR refilledAt <= :fullBefore',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':tokens': state.tokens,
            ':refilledAt': state.refilledAt,
            ':ttl': ttlOf(state, limits),
            ...(known
              ? { ':rev': known.rev, ':next': known.rev + 1 }
              : { ':zero': 0, ':one': 1, ':fullBefore': now - fullAfterMs(limits) }),
          },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const rev = result.Attributes?.rev;
      remember(memory, typeof rev === 'number' ? { state, rev } : undefined);
      return { allowed: true, retryAfterSeconds: 0 };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Someone else took from this bucket: start again from the bucket as it is now.
      known = bucketOf(error.Item ? unmarshall(error.Item) : undefined);
      remember(memory, known);
      if (!known) await jitter(attempt);
    }
  }
  return { allowed: false, retryAfterSeconds: 1 };
}

/** Forgets the buckets this process has seen, as a new Lambda instance would. */
export function resetRateLimitsForTests(): void {
  remembered.clear();
}
