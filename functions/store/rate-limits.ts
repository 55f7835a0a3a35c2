import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type BucketLimits,
  type BucketState,
  fullAfterMs,
  fullAt,
  refill,
  takeToken,
} from '../core/token-bucket';
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
 * wrote the bucket since this one last did (a failed condition costs a write too); requests of one
 * instance that arrive together share one write (see `consume`). Within a warm
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
 * Requests of this process waiting for a bucket. While one write for a bucket is on its way, the
 * requests that arrive meanwhile wait, and the next write takes a token for each of them at once (group
 * commit): a busy caller's bucket costs one write per round trip instead of one per request, and its
 * requests never queue one write behind another. Tokens are only ever taken for requests that wait.
 */
interface Waiter {
  readonly now: number;
  readonly resolve: (decision: RateLimitDecision) => void;
  readonly reject: (error: unknown) => void;
}
const waiting = new Map<string, Waiter[]>();

/**
 * Takes one token from the bucket `scope` (any string naming the limit and whom it counts, e.g.
 * `lookup#key#<keyId>`) under `limits`, at `now` (epoch ms).
 */
export function consume(scope: string, limits: BucketLimits, now = Date.now()): Promise<RateLimitDecision> {
  const memory = `${tableName()}|${scope}`;
  return new Promise((resolve, reject) => {
    const queue = waiting.get(memory);
    if (queue) {
      queue.push({ now, resolve, reject });
      return;
    }
    const waiters: Waiter[] = [{ now, resolve, reject }];
    waiting.set(memory, waiters);
    void serve(memory, scope, limits, waiters);
  });
}

async function serve(memory: string, scope: string, limits: BucketLimits, waiters: Waiter[]): Promise<void> {
  while (waiters.length > 0) {
    const group = waiters.splice(0);
    const now = Math.max(...group.map((waiter) => waiter.now));
    try {
      const { granted, retryAfterSeconds } = await takeTokens(scope, limits, now, group.length);
      for (const [index, waiter] of group.entries()) {
        waiter.resolve(index < granted ? ALLOWED : { allowed: false, retryAfterSeconds });
      }
    } catch (error) {
      for (const waiter of group) waiter.reject(error);
    }
  }
  waiting.delete(memory);
}

const ALLOWED: RateLimitDecision = { allowed: true, retryAfterSeconds: 0 };

/**
 * `consume` without the in-process grouping: concurrent calls race each other through the write
 * conditions, as separate Lambda instances do. For tests of those conditions.
 */
export async function takeFromBucket(
  scope: string,
  limits: BucketLimits,
  now = Date.now(),
): Promise<RateLimitDecision> {
  const { granted, retryAfterSeconds } = await takeTokens(scope, limits, now, 1);
  return granted > 0 ? ALLOWED : { allowed: false, retryAfterSeconds };
}

/** Takes up to `wanted` tokens (as many as the bucket holds) with one conditional write. */
async function takeTokens(
  scope: string,
  limits: BucketLimits,
  now: number,
  wanted: number,
): Promise<{ granted: number; retryAfterSeconds: number }> {
  const table = tableName();
  const memory = `${table}|${scope}`;
  let known = remembered.get(memory);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // A bucket last seen long enough ago is full again whatever it held: treat it as unknown.
    if (known && known.state.refilledAt <= now - fullAfterMs(limits)) known = undefined;
    const available = Math.floor(refill(known?.state, limits, now).tokens);
    const cost = Math.max(1, Math.min(wanted, available));
    const decision = takeToken(known?.state, limits, now, cost);
    if (!decision.allowed) {
      return { granted: 0, retryAfterSeconds: decision.retryAfterSeconds };
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
      // The rest of the group (if the bucket held fewer tokens than requests) waits as long as one would.
      return { granted: cost, retryAfterSeconds: Math.max(1, Math.ceil(1 / limits.refillPerSecond)) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Someone else took from this bucket: start again from the bucket as it is now.
      known = bucketOf(error.Item ? unmarshall(error.Item) : undefined);
      remember(memory, known);
      if (!known) await jitter(attempt);
    }
  }
  return { granted: 0, retryAfterSeconds: 1 };
}

/** Forgets the buckets this process has seen, as a new Lambda instance would. */
export function resetRateLimitsForTests(): void {
  remembered.clear();
}
