import { BatchGetCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readItem, readItemInBatch } from '../../functions/store/batched-reads';
import { db } from '../../functions/store/dynamo-client';
import { createTestTable, type TestTable, testEnv } from '../support/table';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('batched');
  await testEnv();
  for (const n of [1, 2, 3]) {
    await db().send(new PutCommand({ TableName: table.tableName, Item: { PK: `T#${n}`, SK: 'T', n } }));
  }
});
afterAll(async () => table.drop());

async function callsDuring<T>(work: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const send = vi.spyOn(db(), 'send');
  try {
    const result = await work();
    return { result, commands: send.mock.calls.map(([command]) => command.constructor.name) };
  } finally {
    send.mockRestore();
  }
}

describe('reads in a batch', () => {
  it('a batch and the reads that join it in its turn go out as one BatchGetItem; a key asked twice is read once', async () => {
    const { result, commands } = await callsDuring(() =>
      Promise.all([
        readItemInBatch({ PK: 'T#1', SK: 'T' }),
        readItem({ PK: 'T#2', SK: 'T' }),
        readItem({ PK: 'T#404', SK: 'T' }),
        readItemInBatch({ PK: 'T#1', SK: 'T' }),
      ]),
    );
    expect(commands).toEqual([BatchGetCommand.name]);
    expect(result.map((found) => found?.n)).toEqual([1, 2, undefined, 1]);
  });

  it('a read with no open batch to join is a plain GetItem, sent at once; so is a batch of one key', async () => {
    const { result, commands } = await callsDuring(async () => {
      const first = await readItem({ PK: 'T#3', SK: 'T' });
      const second = await readItemInBatch({ PK: 'T#2', SK: 'T' });
      return [first?.n, second?.n];
    });
    expect(commands).toEqual([GetCommand.name, GetCommand.name]);
    expect(result).toEqual([3, 2]);
  });

  it('a read that asks for eventual consistency reads so alone, and consistently when it joins a batch', async () => {
    const send = vi.spyOn(db(), 'send');
    try {
      const alone = await readItem({ PK: 'T#3', SK: 'T' }, { consistent: false });
      const [, joined] = await Promise.all([
        readItemInBatch({ PK: 'T#1', SK: 'T' }),
        readItem({ PK: 'T#2', SK: 'T' }, { consistent: false }),
      ]);
      expect([alone?.n, joined?.n]).toEqual([3, 2]);
      const [[get], [batch]] = send.mock.calls as unknown as [
        [{ input: { ConsistentRead?: boolean } }],
        [{ input: { RequestItems: Record<string, { ConsistentRead?: boolean; Keys: unknown[] }> } }],
      ];
      expect(get.input.ConsistentRead).toBe(false);
      expect(Object.values(batch.input.RequestItems)).toEqual([
        expect.objectContaining({
          ConsistentRead: true,
          Keys: expect.arrayContaining([{ PK: 'T#2', SK: 'T' }]),
        }),
      ]);
    } finally {
      send.mockRestore();
    }
  });

  it('a read started a few promise steps after the batch opened, in the same turn, still joins it', async () => {
    const later = async () => {
      await Promise.resolve();
      await Promise.resolve();
      return readItem({ PK: 'T#2', SK: 'T' });
    };
    const { result, commands } = await callsDuring(() =>
      Promise.all([readItemInBatch({ PK: 'T#1', SK: 'T' }), later()]),
    );
    expect(commands).toEqual([BatchGetCommand.name]);
    expect(result.map((found) => found?.n)).toEqual([1, 2]);
  });
});
