import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TransactItem, writeAtomically } from '../../functions/store/transact';
import { claim } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * How a cancelled transaction is read: which item's reason says what. DynamoDB Local cannot produce a
 * TransactionConflict on demand, so the client is mocked for these cancellations only.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('transact');
  await testEnv();
});
afterAll(async () => table.drop());

const items: TransactItem[] = [
  { Put: { TableName: 'x', Item: { PK: 'CARD#a', SK: 'CARD' } } },
  { Put: { TableName: 'x', Item: { PK: 'CARD#a', SK: 'ENTRY#1' } } },
];

async function outcomeOf(codes: string[]) {
  const mock = mockClient(DynamoDBDocumentClient);
  mock.on(TransactWriteCommand).rejects(
    new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: codes.map((Code) => ({ Code })),
    }),
  );
  try {
    return await writeAtomically(items, { claim: claim(), result: { ok: true }, now: new Date() });
  } finally {
    mock.restore();
  }
}

describe('a cancelled transaction', () => {
  it('is a busy key only when the idempotency record alone conflicted', async () => {
    expect(await outcomeOf(['None', 'None', 'TransactionConflict'])).toEqual({ kind: 'key-busy' });
  });

  it('is a busy card (retry, then CONFLICT) when the card conflicted too, as DynamoDB Local reports it', async () => {
    const outcome = await outcomeOf(['TransactionConflict', 'TransactionConflict', 'TransactionConflict']);
    expect(outcome).toMatchObject({ kind: 'cancelled' });
    expect(await outcomeOf(['TransactionConflict', 'None', 'None'])).toMatchObject({ kind: 'cancelled' });
  });
});
