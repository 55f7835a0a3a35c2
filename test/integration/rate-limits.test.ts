import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BucketLimits, fullAfterMs } from '../../functions/core/token-bucket';
import { db } from '../../functions/store/dynamo-client';
import { rateLimitKey } from '../../functions/store/keys';
import {
  consume,
  type RateLimitDecision,
  resetRateLimitsForTests,
  takeFromBucket,
} from '../../functions/store/rate-limits';
import { createTestTable, type TestTable, testEnv } from '../support/table';

const run = promisify(execFile);
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('rate');
  await testEnv();
});
afterAll(async () => table.drop());
beforeEach(() => resetRateLimitsForTests());

/** Hardly any refill during a test: what is taken stays taken. */
const slow = (capacity: number): BucketLimits => ({ capacity, refillPerSecond: capacity / 3600 });
const scope = () => `test#${randomUUID()}`;

async function stored(name: string) {
  const { Item } = await table.client.send(
    new GetItemCommand({
      TableName: table.tableName,
      Key: { PK: { S: rateLimitKey(name).PK }, SK: { S: 'RATE' } },
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

const allowedOf = (decisions: readonly RateLimitDecision[]) => decisions.filter((d) => d.allowed).length;

describe('a token bucket in the table', () => {
  it('allows capacity, then refuses with Retry-After; the item carries the state and a TTL', async () => {
    const name = scope();
    const now = Date.now();
    const limits = { capacity: 5, refillPerSecond: 5 / 60 };
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < 8; i++) decisions.push(await consume(name, limits, now));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(decisions.at(-1)?.retryAfterSeconds).toBe(12);
    const item = await stored(name);
    expect(item).toMatchObject({ PK: `RATE#${name}`, SK: 'RATE', tokens: 0, refilledAt: now, rev: 5 });
    // Full again after a minute; TTL some minutes after that.
    const ttl = Number(item?.ttl);
    expect(ttl).toBeGreaterThanOrEqual(Math.ceil((now + 60_000) / 1000));
    expect(ttl).toBeLessThanOrEqual(Math.ceil((now + 60_000) / 1000) + 600);
  });

  it('refills with time, and a bucket idle long enough is full again (written blind)', async () => {
    const name = scope();
    const limits = { capacity: 3, refillPerSecond: 3 / 60 };
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) expect((await consume(name, limits, t0)).allowed).toBe(true);
    expect((await consume(name, limits, t0 + 1000)).allowed).toBe(false);
    // One token every 20 s.
    expect((await consume(name, limits, t0 + 20_000)).allowed).toBe(true);
    expect((await consume(name, limits, t0 + 20_000)).allowed).toBe(false);
    // Another instance (no memory of this bucket), long after: full again.
    resetRateLimitsForTests();
    const later = t0 + 20_000 + fullAfterMs(limits);
    const again: RateLimitDecision[] = [];
    for (let i = 0; i < 4; i++) again.push(await consume(name, limits, later));
    expect(allowedOf(again)).toBe(3);
    expect(await stored(name)).toMatchObject({ tokens: 0, refilledAt: later, rev: 7 });
  });

  it('an instance whose memory is stale replans from the stored bucket (ALL_OLD), in one call', async () => {
    const name = scope();
    const limits = slow(10);
    const now = Date.now();
    expect((await consume(name, limits, now)).allowed).toBe(true);
    // Other instances emptied it meanwhile.
    await table.client.send(
      new UpdateItemCommand({
        TableName: table.tableName,
        Key: { PK: { S: `RATE#${name}` }, SK: { S: 'RATE' } },
        UpdateExpression: 'SET tokens = :zero, rev = :rev',
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':rev': { N: '42' } },
      }),
    );
    const send = vi.spyOn(db(), 'send');
    try {
      const decision = await consume(name, limits, now);
      expect(decision.allowed).toBe(false);
      expect(decision.retryAfterSeconds).toBe(360);
      expect(send).toHaveBeenCalledTimes(1);
      // Now known to be empty: the next refusal costs no call at all.
      expect((await consume(name, limits, now + 1000)).allowed).toBe(false);
      expect(send).toHaveBeenCalledTimes(1);
    } finally {
      send.mockRestore();
    }
    expect(await stored(name)).toMatchObject({ tokens: 0, rev: 42 });
  });

  it('50 parallel consumers in one process take exactly the capacity, in a few shared writes', async () => {
    const name = scope();
    const decisions = await Promise.all(Array.from({ length: 50 }, () => consume(name, slow(10))));
    expect(allowedOf(decisions)).toBe(10);
    // The first request writes alone; the 49 that arrived meanwhile share the next write.
    const bucket = await stored(name);
    expect(bucket?.rev).toBe(2);
    expect(bucket?.tokens).toBeLessThan(1);
    for (const refused of decisions.filter((d) => !d.allowed)) {
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it('50 parallel consumers racing through the condition never take more than the capacity', async () => {
    const name = scope();
    const now = Date.now();
    const decisions = await Promise.all(
      Array.from({ length: 50 }, () => takeFromBucket(name, slow(10), now)),
    );
    const allowed = allowedOf(decisions);
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThanOrEqual(10);
    // Every allowed take is one write, and the stored count says exactly what was taken.
    expect(await stored(name)).toMatchObject({ tokens: 10 - allowed, rev: allowed });
  });

  it.each([
    ['queued', 20],
    ['racing', 20],
  ])(
    '3 processes x 50 consumers (%s in each) never take more than the capacity',
    async (mode, capacity) => {
      const name = scope();
      const now = Date.now();
      const limits = slow(capacity);
      const outputs = await Promise.all(
        Array.from({ length: 3 }, () =>
          run(
            'npx',
            [
              'tsx',
              'test/support/rate-limit-worker.ts',
              name,
              '50',
              String(limits.capacity),
              String(limits.refillPerSecond),
              String(now),
              mode,
            ],
            { env: process.env, timeout: 240_000 },
          ),
        ),
      );
      let allowed = 0;
      let refused = 0;
      for (const { stdout } of outputs) {
        const counts = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
          allowed: number;
          refused: number;
        };
        allowed += counts.allowed;
        refused += counts.refused;
      }
      expect(allowed + refused).toBe(150);
      expect(allowed).toBeGreaterThan(0);
      expect(allowed).toBeLessThanOrEqual(capacity);
      const bucket = await stored(name);
      // The stored count says exactly what was taken. Racing, each allowed take is its own write;
      // queued, the requests of a process that waited together took their tokens in one write.
      expect(bucket).toMatchObject({ tokens: capacity - allowed });
      if (mode === 'racing') expect(bucket?.rev).toBe(allowed);
      else expect(bucket?.rev).toBeLessThan(allowed);
    },
    300_000,
  );
});
