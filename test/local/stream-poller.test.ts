import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamConsumerDefinition } from '../../functions/streams/registry';
import { silentLog } from '../../local/log';
import { createStreamPoller, type StreamPoller, type StreamPollerOptions } from '../../local/stream-poller';
import { testDynamoDbEndpoint } from '../support/dynamodb';
import { createTestTable, type TestTable } from '../support/table';

type Handler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

let table: TestTable;
let dlqDir: string;
let poller: StreamPoller | undefined;

beforeEach(async () => {
  table = await createTestTable('poller');
  dlqDir = mkdtempSync(join(tmpdir(), 'giftcard-dlq-'));
});
afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  await table.drop();
  rmSync(dlqDir, { recursive: true, force: true });
});

const consumer = (overrides: Partial<StreamConsumerDefinition> = {}): StreamConsumerDefinition => ({
  name: 'test-consumer',
  module: 'test-consumer',
  description: 'test',
  filters: [],
  batchSize: 10,
  tableAccess: 'read',
  ...overrides,
});

function pollerWith(
  handlers: Record<string, Handler>,
  consumers: StreamConsumerDefinition[],
  options: Partial<StreamPollerOptions> = {},
) {
  poller = createStreamPoller({
    endpoint: testDynamoDbEndpoint(),
    tableName: table.tableName,
    consumers,
    loadHandler: async (module) => {
      const handler = handlers[module];
      if (!handler) throw new Error(`no handler ${module}`);
      return handler;
    },
    dlqDir,
    retryDelayMs: 10,
    maxRetryDelayMs: 40,
    pollIntervalMs: 50,
    log: silentLog,
    ...options,
  });
  return poller;
}

async function putLedgerEntry(cardId: string, seq: number, amount = 100) {
  await table.client.send(
    new PutItemCommand({
      TableName: table.tableName,
      Item: {
        PK: { S: `CARD#${cardId}` },
        SK: { S: `TX#${String(seq).padStart(10, '0')}` },
        amount: { N: String(amount) },
        payload: { B: new Uint8Array([1, 2, 3]) },
      },
    }),
  );
}

const skOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.SK?.S ?? '';
const seqOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? '';

describe('the stream poller', () => {
  it('delivers a real DynamoDB Local stream record in the Lambda event shape', async () => {
    const events: DynamoDBStreamEvent[] = [];
    const contexts: string[] = [];
    const p = pollerWith(
      {
        'test-consumer': async (event) => {
          events.push(event);
          return { batchItemFailures: [] };
        },
      },
      [consumer()],
    );
    await putLedgerEntry('c1', 1, 2500);
    await p.drain();
    expect(events).toHaveLength(1);
    const [record] = events[0]?.Records ?? [];
    expect(record).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventVersion: '1.1',
      awsRegion: 'us-east-1',
      dynamodb: {
        Keys: { PK: { S: 'CARD#c1' }, SK: { S: 'TX#0000000001' } },
        NewImage: { PK: { S: 'CARD#c1' }, amount: { N: '2500' }, payload: { B: 'AQID' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(record?.eventID).toEqual(expect.any(String));
    expect(record?.eventSourceARN).toContain(`table/${table.tableName}/stream/`);
    expect(record?.dynamodb?.SequenceNumber).toEqual(expect.any(String));
    expect(record?.dynamodb?.ApproximateCreationDateTime).toEqual(expect.any(Number));
    expect(record?.dynamodb?.OldImage).toBeUndefined();
    expect(contexts).toEqual([]);

    // An update carries both images; drain() does not deliver the first record twice.
    await table.client.send(
      new UpdateItemCommand({
        TableName: table.tableName,
        Key: { PK: { S: 'CARD#c1' }, SK: { S: 'TX#0000000001' } },
        UpdateExpression: 'SET amount = :a',
        ExpressionAttributeValues: { ':a': { N: '1' } },
      }),
    );
    await p.drain();
    expect(events).toHaveLength(2);
    expect(events[1]?.Records[0]).toMatchObject({
      eventName: 'MODIFY',
      dynamodb: { OldImage: { amount: { N: '2500' } }, NewImage: { amount: { N: '1' } } },
    });
  });

  it('delivers in the background once started', async () => {
    const seen: string[] = [];
    const p = pollerWith({ 'test-consumer': async (event) => void seen.push(...event.Records.map(skOf)) }, [
      consumer(),
    ]);
    p.start();
    await putLedgerEntry('c1', 1);
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['TX#0000000001']);
  });

  it('in the background, a consumer stuck on a slow batch does not hold up another', async () => {
    let release: () => void = () => {};
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fast: string[] = [];
    const p = pollerWith(
      {
        slow: async () => {
          await stuck;
          return { batchItemFailures: [] };
        },
        fast: async (event) => void fast.push(...event.Records.map(skOf)),
      },
      [consumer({ name: 'slow', module: 'slow' }), consumer({ name: 'fast', module: 'fast' })],
    );
    p.start();
    await putLedgerEntry('c1', 1);
    await expect.poll(() => fast, { timeout: 10_000 }).toEqual(['TX#0000000001']);
    // The slow consumer is still inside its first batch; the fast one gets the next record anyway.
    await putLedgerEntry('c1', 2);
    await expect.poll(() => fast, { timeout: 10_000 }).toEqual(['TX#0000000001', 'TX#0000000002']);
    release();
  });

  it('applies each consumer filter and batch size; every consumer keeps its own position', async () => {
    const ledger: string[][] = [];
    const everything: string[][] = [];
    const p = pollerWith(
      {
        ledger: async (event) => void ledger.push(event.Records.map(skOf)),
        everything: async (event) => void everything.push(event.Records.map(skOf)),
      },
      [
        consumer({
          name: 'ledger',
          module: 'ledger',
          filters: [{ eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'TX#' }] } } } }],
          batchSize: 2,
        }),
        consumer({ name: 'everything', module: 'everything', batchSize: 100 }),
      ],
    );
    await table.client.send(
      new PutItemCommand({ TableName: table.tableName, Item: { PK: { S: 'CARD#c1' }, SK: { S: 'CARD' } } }),
    );
    for (const seq of [1, 2, 3]) await putLedgerEntry('c1', seq);
    await p.drain();
    expect(ledger).toEqual([['TX#0000000001', 'TX#0000000002'], ['TX#0000000003']]);
    expect(everything).toEqual([['CARD', 'TX#0000000001', 'TX#0000000002', 'TX#0000000003']]);
  });

  it('retries a partial batch failure from the failed record: nothing lost, nothing out of order', async () => {
    const deliveries: string[][] = [];
    const handled: string[] = [];
    let failuresLeft = 2;
    // A careful consumer: stops at its first failure and reports it and everything after it.
    const p = pollerWith(
      {
        'test-consumer': async (event) => {
          deliveries.push(event.Records.map(skOf));
          for (const [index, record] of event.Records.entries()) {
            if (skOf(record) === 'TX#0000000003' && failuresLeft > 0) {
              failuresLeft -= 1;
              return {
                batchItemFailures: event.Records.slice(index).map((r) => ({ itemIdentifier: seqOf(r) })),
              };
            }
            handled.push(skOf(record));
          }
          return { batchItemFailures: [] };
        },
      },
      [consumer({ batchSize: 10 })],
    );
    for (const seq of [1, 2, 3, 4, 5]) await putLedgerEntry('c1', seq);
    await p.drain();
    expect(handled).toEqual([
      'TX#0000000001',
      'TX#0000000002',
      'TX#0000000003',
      'TX#0000000004',
      'TX#0000000005',
    ]);
    expect(deliveries).toEqual([
      ['TX#0000000001', 'TX#0000000002', 'TX#0000000003', 'TX#0000000004', 'TX#0000000005'],
      ['TX#0000000003', 'TX#0000000004', 'TX#0000000005'],
      ['TX#0000000003', 'TX#0000000004', 'TX#0000000005'],
    ]);
  });

  it('retries the whole batch when the handler throws', async () => {
    const deliveries: string[][] = [];
    let throws = 1;
    const p = pollerWith(
      {
        'test-consumer': async (event) => {
          deliveries.push(event.Records.map(skOf));
          if (throws-- > 0) throw new Error('downstream unavailable');
          return undefined;
        },
      },
      [consumer()],
    );
    for (const seq of [1, 2]) await putLedgerEntry('c1', seq);
    await p.drain();
    expect(deliveries).toEqual([
      ['TX#0000000001', 'TX#0000000002'],
      ['TX#0000000001', 'TX#0000000002'],
    ]);
  });

  it('writes a record that keeps failing to the DLQ after the retries, then goes on', async () => {
    const handled: string[] = [];
    let attemptsOnPoison = 0;
    const p = pollerWith(
      {
        'test-consumer': async (event) => {
          for (const [index, record] of event.Records.entries()) {
            if (skOf(record) === 'TX#0000000002') {
              attemptsOnPoison += 1;
              return {
                batchItemFailures: event.Records.slice(index).map((r) => ({ itemIdentifier: seqOf(r) })),
              };
            }
            handled.push(skOf(record));
          }
          return { batchItemFailures: [] };
        },
      },
      [consumer()],
      { maxRetries: 3 },
    );
    for (const seq of [1, 2, 3, 4]) await putLedgerEntry('c1', seq);
    await p.drain();

    expect(attemptsOnPoison).toBe(4);
    expect(handled).toEqual(['TX#0000000001', 'TX#0000000003', 'TX#0000000004']);
    const lines = readFileSync(join(dlqDir, 'test-consumer.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry).toMatchObject({
      consumer: 'test-consumer',
      attempts: 4,
      reason: 'reported in batchItemFailures',
      record: { eventName: 'INSERT', dynamodb: { Keys: { SK: { S: 'TX#0000000002' } } } },
    });
    expect(entry.sequenceNumber).toBe(entry.record.dynamodb.SequenceNumber);
  });

  it('treats an unknown itemIdentifier as a failure of the whole batch, like Lambda', async () => {
    const deliveries: string[][] = [];
    const p = pollerWith(
      {
        'test-consumer': async (event) => {
          deliveries.push(event.Records.map(skOf));
          return deliveries.length === 1 ? { batchItemFailures: [{ itemIdentifier: '' }] } : undefined;
        },
      },
      [consumer()],
    );
    await putLedgerEntry('c1', 1);
    await p.drain();
    expect(deliveries).toEqual([['TX#0000000001'], ['TX#0000000001']]);
  });

  it('resumes after the last handled record with a checkpoint file', async () => {
    const checkpointFile = join(dlqDir, 'positions.json');
    const seen: string[] = [];
    const handlers = {
      'test-consumer': async (event: DynamoDBStreamEvent) => void seen.push(...event.Records.map(skOf)),
    };
    const first = pollerWith(handlers, [consumer()], { checkpointFile });
    await putLedgerEntry('c1', 1);
    await first.drain();
    await first.stop();
    await putLedgerEntry('c1', 2);
    const second = pollerWith(handlers, [consumer()], { checkpointFile });
    await second.drain();
    expect(seen).toEqual(['TX#0000000001', 'TX#0000000002']);
  });
});
