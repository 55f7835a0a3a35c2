import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reissueCard } from '../../functions/app/card-reissue';
import { displayStatus } from '../../functions/core/card';
import {
  cardSchema,
  holdSchema,
  pageSchema,
  reissueSchema,
  transactionSchema,
} from '../../functions/http/response-schemas/cards';
import { cardView, holdView, pageView, transactionView } from '../../functions/http/views';
import { cardItem } from '../../functions/store/card-items';
import { openHolds } from '../../functions/store/card-reads';
import { backfillLast4Index } from '../../functions/store/last4-index';
import { allEntries, findCard, issueCard, listCards, lookupCard, operateOnCard } from '../support/cards';
import { claim, codeOf, everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Customer care's reissue (one transaction: a new card with the old one's balance, the old one
 * deactivated), a card's open holds, and the last-4 search through the program index, with its backfill.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('reissue');
  await testEnv();
});
afterAll(async () => table.drop());

const active = async (programId: string, amount: number, customerId?: string) =>
  issueCard(
    programId,
    { type: 'DIGITAL', amount, activate: true, ...(customerId ? { customerId } : {}) },
    staffContext(),
    undefined,
    everyProgram,
  );

describe('reissue', () => {
  it('moves the whole balance to a new card and deactivates the old one in one write, replayably', async () => {
    const program = await makeProgram();
    const { card: old, code: oldCode } = await active(program.id, 4200, 'cust-9');
    await operateOnCard(old.id, { type: 'BLOCK', reason: 'lost' }, staffContext(), undefined, everyone);
    const key = claim();
    const { result, replayed } = await reissueCard(old.id, 'reported lost', staffContext(), everyone, {
      claim: key,
    });
    expect(replayed).toBe(false);
    const fresh = result.replacement.card;
    expect(fresh).toMatchObject({ status: 'ACTIVE', balance: 4200, available: 4200, customerId: 'cust-9' });
    expect(await findCard(fresh.id)).toMatchObject({ balance: 4200, seq: fresh.seq });
    expect(await findCard(old.id)).toMatchObject({ status: 'DEACTIVATED', balance: 0, available: 0 });
    expect(result.transactions.map((entry) => entry.type)).toEqual([
      'TRANSFER_OUT',
      'DEACTIVATE',
      'ISSUE',
      'ACTIVATE',
      'TRANSFER_IN',
    ]);
    // Balance = sum of the ledger, on both cards.
    for (const id of [old.id, fresh.id]) {
      const entries = await allEntries(id);
      const card = await findCard(id);
      expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(card?.balance);
    }
    // The new code finds the new card; a retry answers the same new card and code, writing nothing.
    expect((await lookupCard(result.replacement.code, everyone)).id).toBe(fresh.id);
    expect(await codeOf(lookupCard(oldCode, everyone, { revealPinErrors: true }))).toBe('OK');
    const again = await reissueCard(old.id, 'reported lost', staffContext(), everyone, { claim: key });
    expect(again.replayed).toBe(true);
    expect(again.result.replacement.code).toBe(result.replacement.code);
    // The answer's views are what the OpenAPI document says (functions/http/response-schemas/).
    const now = new Date();
    reissueSchema.parse({
      card: cardView(result.card, now),
      replacement: { card: cardView(fresh, now), code: result.replacement.code },
      transactions: result.transactions.map(transactionView),
    });
    for (const view of [cardView(fresh, now), ...result.transactions.map(transactionView)]) {
      const schema = 'cardId' in view ? transactionSchema : cardSchema;
      expect(Object.keys(schema.shape).sort()).toEqual(Object.keys(view).sort());
    }
    expect(await allEntries(old.id)).toHaveLength(5);
    // A deactivated card is not reissued again; a reason is required.
    expect(await codeOf(reissueCard(old.id, 'again', staffContext(), everyone))).toBe('CONFLICT');
    expect(await codeOf(reissueCard(fresh.id, ' ', staffContext(), everyone))).toBe('VALIDATION_FAILED');
  });

  it('refuses a card with open holds, writing nothing; the holds list shows them', async () => {
    const program = await makeProgram();
    const { card } = await active(program.id, 1000);
    const held = await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 300, expiresInSeconds: 600 },
      staffContext(),
      undefined,
      everyone,
    );
    const holds = await openHolds(card.id, 50, undefined);
    expect(holds.items.map((hold) => hold.id)).toEqual([held.hold?.id]);
    const page = pageSchema(holdSchema).parse(pageView(holds, holdView));
    expect(Object.keys(holdSchema.shape).sort()).toEqual(Object.keys(page.items[0] ?? {}).sort());
    expect(await codeOf(reissueCard(card.id, 'damaged', staffContext(), everyone))).toBe('CONFLICT');
    expect(await findCard(card.id)).toMatchObject({ status: 'ACTIVE', seq: card.seq + 1 });
    await operateOnCard(
      card.id,
      { type: 'VOID', holdId: held.hold?.id ?? '' },
      staffContext(),
      undefined,
      everyone,
    );
    expect((await openHolds(card.id, 50, undefined)).items).toEqual([]);
  });
});

describe('search by last 4', () => {
  it('is an index query within a program and across programs, paged; the backfill gives old cards their key', async () => {
    const [a, b] = [await makeProgram(), await makeProgram()];
    const inA = [await active(a.id, 100), await active(a.id, 100), await active(a.id, 100)];
    const last4 = inA[0]?.card.last4 ?? '';
    const matching = async (programId: string | undefined) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const found = await listCards(
          { ...(programId ? { programId } : {}), last4 },
          1,
          cursor,
          new Date(),
          displayStatus,
        );
        ids.push(...found.items.map((card) => card.id));
        cursor = found.nextCursor ?? undefined;
        if (!cursor) break;
      }
      return ids;
    };
    expect(await matching(a.id)).toContain(inA[0]?.card.id);
    // A card in program B with the same last 4, written as the code before the index keys wrote it.
    const { card: inB } = await active(b.id, 100);
    const old = { ...inB, last4 };
    await table.client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: marshall({ ...cardItem(old), GSI1SK: old.id }, { removeUndefinedValues: true }),
      }),
    );
    expect(await matching(undefined)).not.toContain(old.id);
    const totals = await backfillLast4Index({ pageSize: 2 });
    expect(totals.reduce((sum, program) => sum + program.rewritten, 0)).toBeGreaterThanOrEqual(1);
    const everywhere = await matching(undefined);
    expect(everywhere).toContain(old.id);
    expect(everywhere).toContain(inA[0]?.card.id);
    const again = await backfillLast4Index({ restart: true });
    expect(again.reduce((sum, program) => sum + program.rewritten, 0)).toBe(0);
  });
});
