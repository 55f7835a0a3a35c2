import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILED_CHECKS_WINDOW_MS, windowStartOf } from '../../functions/core/check-limits';
import {
  countFailure,
  type FailureCounted,
  type FailureSubject,
  readFailureCounts,
} from '../../functions/store/failed-checks';
import { createTestTable, type TestTable, testEnv } from '../support/table';

const run = promisify(execFile);
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('rate');
  await testEnv();
});
afterAll(async () => table.drop());

/** A caller of a fresh merchant, so every test starts from nothing. */
function merchantKey(): FailureSubject & { merchantId: string; keyId: string } {
  const merchantId = `mer_${randomUUID()}`;
  const keyId = `key_${randomUUID()}`;
  return { owner: `merchant#${merchantId}`, caller: `key#${keyId}`, merchantId, keyId };
}

async function stored(subject: FailureSubject, windowStart: number) {
  const { Item } = await table.client.send(
    new GetItemCommand({
      TableName: table.tableName,
      Key: {
        PK: { S: `FRAUD#caller#${subject.owner}` },
        SK: { S: `F#${new Date(windowStart).toISOString()}` },
      },
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

const countedOf = (outcomes: readonly FailureCounted[]) => outcomes.filter((o) => o.counted).length;

describe('failed checks, counted in the table', () => {
  it('counts a key and its merchant in one item, until the key reaches its cap; a refusal writes nothing', async () => {
    const key = merchantKey();
    const now = Date.now();
    const caps = { owner: 100, caller: 3 };
    const outcomes: FailureCounted[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await countFailure(key, caps, 3, now));
    expect(outcomes.map((o) => o.counted)).toEqual([true, true, true, false, false]);
    expect(outcomes[4]).toEqual({ counted: false, current: { owner: 3, caller: 3 } });
    const item = await stored(key, windowStartOf(now));
    expect(item).toMatchObject({
      count: 3,
      [`by#key#${key.keyId}`]: 3,
      merchantId: key.merchantId,
      callerLimit: 3,
      windowStart: new Date(windowStartOf(now)).toISOString(),
    });
    // Kept a day (for the fraud rule's window and the next one's estimate), then TTL deletes it.
    expect(Number(item?.ttl)).toBeGreaterThanOrEqual(Math.floor(now / 1000) + 86_000);
    expect(await readFailureCounts(key, now)).toEqual({
      owner: { current: 3, previous: 0 },
      caller: { current: 3, previous: 0 },
    });
  });

  it("the merchant's cap holds across its keys", async () => {
    const first = merchantKey();
    const second = { ...first, caller: `key#key_${randomUUID()}` };
    const now = Date.now();
    const caps = { owner: 4, caller: 3 };
    for (let i = 0; i < 3; i++) expect((await countFailure(first, caps, 3, now)).counted).toBe(true);
    expect((await countFailure(second, caps, 3, now)).counted).toBe(true);
    expect(await countFailure(second, caps, 3, now)).toEqual({
      counted: false,
      current: { owner: 4, caller: 1 },
    });
    expect(await readFailureCounts(second, now)).toEqual({
      owner: { current: 4, previous: 0 },
      caller: { current: 1, previous: 0 },
    });
  });

  it('reads this window and the one before in one query; counts without caps go past any limit', async () => {
    const staff = { owner: `staff#${randomUUID()}`, caller: '' };
    const subject = { ...staff, caller: staff.owner };
    const now = Date.now();
    const before = now - FAILED_CHECKS_WINDOW_MS;
    for (let i = 0; i < 4; i++) await countFailure(subject, undefined, 2, before);
    await countFailure(subject, undefined, 2, now);
    expect(await readFailureCounts(subject, now)).toEqual({
      owner: { current: 1, previous: 4 },
      caller: { current: 1, previous: 4 },
    });
    expect(await stored(subject, windowStartOf(before))).toMatchObject({ count: 4, caller: subject.caller });
  });

  it('300 failures at once from one key: exactly the cap is counted', async () => {
    const key = merchantKey();
    const now = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, () => countFailure(key, { owner: 1000, caller: 30 }, 30, now)),
    );
    expect(countedOf(outcomes)).toBe(30);
    expect(await stored(key, windowStartOf(now))).toMatchObject({ count: 30, [`by#key#${key.keyId}`]: 30 });
  });

  it('3 processes x 100 failures at once: exactly the cap is counted', { timeout: 300_000 }, async () => {
    const key = merchantKey();
    const now = Date.now();
    const outputs = await Promise.all(
      Array.from({ length: 3 }, () =>
        run(
          'npx',
          [
            'tsx',
            'test/support/rate-limit-worker.ts',
            key.merchantId,
            key.keyId,
            '100',
            '1000',
            '25',
            String(now),
          ],
          { env: process.env, timeout: 240_000 },
        ),
      ),
    );
    let counted = 0;
    let refused = 0;
    for (const { stdout } of outputs) {
      const outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        counted: number;
        refused: number;
      };
      counted += outcome.counted;
      refused += outcome.refused;
    }
    expect({ counted, refused }).toEqual({ counted: 25, refused: 275 });
    expect(await stored(key, windowStartOf(now))).toMatchObject({ count: 25 });
  });
});
