import { BatchGetCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getItem } from '../../functions/store/batched-reads';
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

describe('reads started in the same turn', () => {
  it('go out as one BatchGetItem, each getting its own item (or nothing); a key asked twice is read once', async () => {
    const { result, commands } = await callsDuring(() =>
      Promise.all([
        getItem({ PK: 'T#1', SK: 'T' }),
        getItem({ PK: 'T#2', SK: 'T' }),
        getItem({ PK: 'T#404', SK: 'T' }),
        getItem({ PK: 'T#1', SK: 'T' }),
      ]),
    );
    expect(commands).toEqual([BatchGetCommand.name]);
    expect(result.map((item) => item?.n)).toEqual([1, 2, undefined, 1]);
  });

  it('a read alone in its turn is a plain GetItem; reads of later turns are not held back', async () => {
    const { result, commands } = await callsDuring(async () => {
      const first = await getItem({ PK: 'T#3', SK: 'T' });
      const second = await getItem({ PK: 'T#2', SK: 'T' });
      return [first?.n, second?.n];
    });
    expect(commands).toEqual([GetCommand.name, GetCommand.name]);
    expect(result).toEqual([3, 2]);
  });

  it('reads started a few promise steps apart in one turn still share the batch', async () => {
    const later = async () => {
      await Promise.resolve();
      await Promise.resolve();
      return getItem({ PK: 'T#2', SK: 'T' });
    };
    const { result, commands } = await callsDuring(() =>
      Promise.all([getItem({ PK: 'T#1', SK: 'T' }), later()]),
    );
    expect(commands).toEqual([BatchGetCommand.name]);
    expect(result.map((item) => item?.n)).toEqual([1, 2]);
  });
});
