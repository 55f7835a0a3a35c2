import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeCard } from '../../functions/app/card-change';
import type { Card } from '../../functions/core/card';
import { cardItem } from '../../functions/store/card-items';
import { backfillExpiryIndex } from '../../functions/store/expiry-index';
import { abandonKey } from '../../functions/store/idempotency';
import { allEntries, findCard, issueCard, operateOnCard } from '../support/cards';
import { claim, codeOf, everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Scenario 6 (the expiry index let go of no card) and 7 (a write could commit after its request was
 * answered 503) of the card-verb policy issue, against DynamoDB Local.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('fences');
  await testEnv();
});
afterAll(async () => table.drop());

async function indexKeysOf(cardId: string): Promise<{ pk?: string; sk?: string }> {
  const out = await table.client.send(
    new GetItemCommand({
      TableName: table.tableName,
      Key: { PK: { S: `CARD#${cardId}` }, SK: { S: 'CARD' } },
      ConsistentRead: true,
    }),
  );
  return { pk: out.Item?.GSI4PK?.S, sk: out.Item?.GSI4SK?.S };
}

async function activeCard(amount: number, months = 12) {
  const program = await makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months } });
  const { card } = await issueCard(
    program.id,
    { type: 'DIGITAL', amount, activate: true },
    staffContext(),
    undefined,
    everyProgram,
  );
  return card;
}

describe('6. the expiry index follows the card', () => {
  it('a card emptied leaves the index; a load that moves the expiry moves its key', async () => {
    const spent = await activeCard(2000);
    expect((await indexKeysOf(spent.id)).sk).toBe(`${spent.expiresAt}#${spent.id}`);
    await operateOnCard(spent.id, { type: 'REDEEM', amount: 2000 }, staffContext(), undefined, everyone);
    expect(await indexKeysOf(spent.id)).toEqual({ pk: undefined, sk: undefined });

    const reloaded = await activeCard(2000);
    const later = staffContext({ now: new Date(Date.now() + 30 * 86_400_000) });
    const loaded = await operateOnCard(
      reloaded.id,
      { type: 'LOAD', amount: 1000 },
      later,
      undefined,
      everyone,
    );
    expect(loaded.card.expiresAt).not.toBe(reloaded.expiresAt);
    expect((await indexKeysOf(reloaded.id)).sk).toBe(`${loaded.card.expiresAt}#${reloaded.id}`);
  });

  it('the backfill repairs entries written before the fix, resumes after a crash, and is idempotent', async () => {
    // Items as the old code left them: emptied cards, and one whose expiry moved, with their old keys.
    const stale: Card[] = [];
    for (let i = 0; i < 5; i++) {
      const card = await activeCard(1000);
      const emptied = await operateOnCard(
        card.id,
        { type: 'REDEEM', amount: 1000 },
        staffContext(),
        undefined,
        everyone,
      );
      stale.push(emptied.card);
      await table.client.send(
        new PutItemCommand({
          TableName: table.tableName,
          Item: marshall(
            { ...cardItem(emptied.card), GSI4PK: 'EXPIRING#0', GSI4SK: `${card.expiresAt}#${card.id}` },
            { removeUndefinedValues: true },
          ),
        }),
      );
    }
    const moved = await activeCard(1000);
    await table.client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: marshall({
          ...cardItem(moved),
          GSI4PK: 'EXPIRING#0',
          GSI4SK: `2021-01-01T00:00:00.000Z#${moved.id}`,
        }),
      }),
    );

    // A crash after the first page of shard 0: the next run goes on from its checkpoint.
    let pages = 0;
    const crash = backfillExpiryIndex({
      pageSize: 2,
      onProgress: () => {
        pages += 1;
        if (pages === 1) throw new Error('crash');
      },
    });
    await expect(crash).rejects.toThrow('crash');
    const resumed = await backfillExpiryIndex({ pageSize: 2 });
    const shard0 = resumed[0];
    expect(shard0?.removed).toBeGreaterThanOrEqual(3);
    for (const card of stale) expect(await indexKeysOf(card.id)).toEqual({ pk: undefined, sk: undefined });
    const fixed = await indexKeysOf(moved.id);
    expect(fixed.sk).toBe(`${moved.expiresAt}#${moved.id}`);
    expect(fixed.pk).toMatch(/^EXPIRING#\d$/);

    const again = await backfillExpiryIndex({ restart: true, pageSize: 2 });
    expect(again.reduce((sum, shard) => sum + shard.removed + shard.moved, 0)).toBe(0);
    // Nothing else was touched: the cards' ledgers and balances are as they were.
    for (const card of stale) expect(await findCard(card.id)).toMatchObject({ balance: 0, seq: card.seq });
  });
});

describe('7. nothing commits after its answer was given', () => {
  it('a change whose deadline has passed writes nothing', async () => {
    const card = await activeCard(5000);
    const outcome = await codeOf(
      changeCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), everyone, {
        deadlineMs: Date.now() - 1,
      }),
    );
    expect(outcome).toBe('CONFLICT');
    expect(await findCard(card.id)).toMatchObject({ balance: 5000, seq: card.seq });
  });

  it('a fenced key refuses the late original, lets its retry commit once, and refuses another request', async () => {
    const card = await activeCard(5000);
    const original = { ...claim('S:fence', 'redeem-100'), attempt: 'attempt-1' };
    expect(await abandonKey(original, new Date())).toBe('fenced');
    // The original, still on its way when its 503 went out: refused, nothing written.
    const late = await codeOf(
      changeCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), everyone, { claim: original }),
    );
    expect(late).toBe('CONFLICT');
    expect((await findCard(card.id))?.balance).toBe(5000);
    // Another request under the same key is a reuse, fence or not.
    const other = await codeOf(
      changeCard(card.id, { type: 'REDEEM', amount: 999 }, staffContext(), everyone, {
        claim: { ...original, requestHash: 'redeem-999', attempt: 'attempt-x' },
      }),
    );
    expect(other).toBe('IDEMPOTENCY_KEY_REUSED');
    // The client's retry (same request, a new attempt) takes effect once, then replays.
    const retry = { ...original, attempt: 'attempt-2' };
    const committed = await changeCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), everyone, {
      claim: retry,
    });
    expect(committed.replayed).toBe(false);
    const replay = await changeCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), everyone, {
      claim: { ...original, attempt: 'attempt-3' },
    });
    expect(replay).toMatchObject({
      replayed: true,
      result: { transaction: { id: committed.result.transaction.id } },
    });
    expect(await abandonKey(retry, new Date())).toBe('committed');
    expect((await allEntries(card.id)).filter((entry) => entry.type === 'REDEEM')).toHaveLength(1);
  });
});
