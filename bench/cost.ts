/**
 * Goal 2: what each operation costs in DynamoDB request units and dollars, metered two ways by
 * bench/lib/capacity-meter.ts (DynamoDB's ConsumedCapacity, and units computed from the items by the
 * pricing rules), plus round trips per request, and the floor the redemption could reach.
 *
 * The API key cache is held warm (AUTH_CACHE_SECONDS=300) so each operation shows its own calls; the
 * auth refresh a warm function pays every AUTH_CACHE_SECONDS (default 5) is measured on its own.
 * A calibration section checks DynamoDB Local's ConsumedCapacity against the rules on known item sizes.
 * Knob: BENCH_COST_OPERATIONS (20 of each).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { clearApiKeyCache } from '../functions/store/api-keys';
import { db, tableName } from '../functions/store/dynamo-client';
import { entryKey } from '../functions/store/keys';
import { clearMerchantCache } from '../functions/store/merchants';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynamodb';
import { lambdaContext } from '../local/handlers';
import {
  CapacityMeter,
  dollarsPerMillion,
  itemBytes,
  type MeteredCall,
  ON_DEMAND_PRICE,
  totals,
  type Units,
} from './lib/capacity-meter';
import { emit, knob, progress } from './lib/env';
import { jsonClient } from './lib/http-client';
import { type IssuedCard, issueCard, startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { round, tally } from './lib/stats';

const OPERATIONS = knob('COST_OPERATIONS', 20);
process.env.AUTH_CACHE_SECONDS = '300';

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;

const stack = await startBenchStack({ consumers: [] });
const client = jsonClient(stack.baseUrl);
const doc = db();
const meter = new CapacityMeter().attach(doc);

let captureNext = false;
let capturedRedeem: TransactItems | undefined;
(doc.middlewareStack as unknown as { add(m: unknown, o: Record<string, unknown>): void }).add(
  (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: { TransactItems?: TransactItems } }) => {
      if (captureNext && context.commandName === 'TransactWriteItemsCommand') {
        capturedRedeem = structuredClone(args.input.TransactItems);
        captureNext = false;
      }
      return next(args);
    },
  { step: 'initialize', name: 'benchCaptureRedeem', priority: 'low' },
);

interface OperationFigures {
  samples: number;
  roundTrips: Record<string, number>;
  commands: string;
  computed: Units;
  reported: Units;
  itemBytes: number[];
  notes: string[];
  dollarsPerMillionComputed: number;
  dollarsPerMillionReported: number;
}

const avg = (values: number[]) =>
  round(values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length), 2);

function figures(perOp: MeteredCall[][]): OperationFigures {
  const sums = perOp.map(totals);
  const computed = {
    read: avg(sums.map((s) => s.computed.read)),
    write: avg(sums.map((s) => s.computed.write)),
  };
  const reported = {
    read: avg(sums.map((s) => s.reported.read)),
    write: avg(sums.map((s) => s.reported.write)),
  };
  const typical = perOp[Math.floor(perOp.length / 2)] ?? [];
  return {
    samples: perOp.length,
    roundTrips: tally(sums.map((s) => String(s.roundTrips))),
    commands: typical.map((call) => call.command.replace(/Command$/, '')).join(' + '),
    computed,
    reported,
    itemBytes: typical.flatMap((call) => call.itemBytes),
    notes: [...new Set(typical.flatMap((call) => call.computed.notes))],
    dollarsPerMillionComputed: dollarsPerMillion(computed),
    dollarsPerMillionReported: dollarsPerMillion(reported),
  };
}

async function measure(name: string, count: number, run: (i: number) => Promise<unknown>) {
  const perOp: MeteredCall[][] = [];
  for (let i = 0; i < count; i++) {
    const from = meter.calls.length;
    await run(i);
    perOp.push(meter.since(from));
  }
  progress(`cost: ${name} measured`);
  return figures(perOp);
}

const expectStatus = <A extends { status: number; body: unknown }>(expected: number, answer: A): A => {
  if (answer.status !== expected)
    throw new Error(`expected ${expected}, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer;
};

// Warm up the function (imports, caches) so the counts below are a warm instance's.
const warm = await issueCard(client, stack, 5000);
await client.call('GET', `/v1/cards/${warm.id}`, { token: stack.apiKey });

const operations: Record<string, OperationFigures> = {};
const cards: IssuedCard[] = [];
operations.issue = await measure('issue', OPERATIONS, async () => {
  cards.push(await issueCard(client, stack, 20_000));
});
const card = (i: number) => cards[i % cards.length] as IssuedCard;

const redeemKeys: string[] = [];
operations.redeem = await measure('redeem', OPERATIONS, async (i) => {
  const key = randomUUID();
  redeemKeys.push(key);
  if (i === 0) captureNext = true;
  expectStatus(
    200,
    await client.call('POST', `/v1/cards/${card(i).id}/redeem`, {
      token: stack.apiKey,
      idempotencyKey: key,
      body: { amount: 100, channel: 'POS', locationId: 'store-1' },
    }),
  );
});
operations.lookup = await measure('lookup', OPERATIONS, async (i) =>
  expectStatus(
    200,
    await client.call('POST', '/v1/cards/lookup', {
      token: stack.apiKey,
      body: { code: card(i).code },
      idempotencyKey: false,
    }),
  ),
);
operations.load = await measure('load', OPERATIONS, async (i) =>
  expectStatus(
    200,
    await client.call('POST', `/v1/cards/${card(i).id}/load`, { token: stack.apiKey, body: { amount: 500 } }),
  ),
);
operations.getCard = await measure('getCard', OPERATIONS, async (i) =>
  expectStatus(200, await client.call('GET', `/v1/cards/${card(i).id}`, { token: stack.apiKey })),
);
operations.history = await measure('history', OPERATIONS, async (i) =>
  expectStatus(
    200,
    await client.call('GET', `/v1/cards/${card(i).id}/transactions?limit=20`, { token: stack.apiKey }),
  ),
);
operations.redeemReplay = await measure('redeemReplay', OPERATIONS, async (i) => {
  const answer = expectStatus(
    200,
    await client.call('POST', `/v1/cards/${card(i).id}/redeem`, {
      token: stack.apiKey,
      idempotencyKey: redeemKeys[i] as string,
      body: { amount: 100, channel: 'POS', locationId: 'store-1' },
    }),
  );
  if (answer.headers['idempotent-replayed'] !== 'true') throw new Error('expected a replay');
});
operations.redeemRefused = await measure('redeemRefused', OPERATIONS, async (i) =>
  expectStatus(
    422,
    await client.call('POST', `/v1/cards/${card(i).id}/redeem`, {
      token: stack.apiKey,
      body: { amount: 90_000, channel: 'POS' },
    }),
  ),
);
operations.authRefresh = await measure('authRefresh', OPERATIONS, async (i) => {
  clearApiKeyCache();
  clearMerchantCache();
  expectStatus(200, await client.call('GET', `/v1/cards/${card(i).id}`, { token: stack.apiKey }));
});

const { handler: ledgerIntegrity } = await import('../functions/streams/ledger-integrity');
// The stream consumer that exists: ledger-integrity, once per new ledger entry (Lambda's stream reads are free).
const entryForStream = await doc.send(
  new GetCommand({ TableName: tableName(), Key: entryKey(card(0).id, 3), ConsistentRead: true }),
);
if (!entryForStream.Item) throw new Error('no ledger entry to feed the stream consumer');
const streamEvent = {
  Records: [
    {
      eventID: '1',
      eventName: 'INSERT' as const,
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_REGION,
      dynamodb: {
        Keys: marshall({ PK: entryForStream.Item.PK, SK: entryForStream.Item.SK }),
        NewImage: marshall(entryForStream.Item, { removeUndefinedValues: true }),
        SequenceNumber: '1',
        StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
      },
    },
  ],
};
operations.streamLedgerIntegrity = await measure('streamLedgerIntegrity', OPERATIONS, () =>
  ledgerIntegrity(
    streamEvent as unknown as Parameters<typeof ledgerIntegrity>[0],
    lambdaContext('giftcard-ledger-integrity', 60_000),
  ),
);

const sumOf = (...names: string[]): Units => ({
  read: round(
    names.reduce((sum, n) => sum + (operations[n]?.computed.read ?? 0), 0),
    2,
  ),
  write: round(
    names.reduce((sum, n) => sum + (operations[n]?.computed.write ?? 0), 0),
    2,
  ),
});

// The floor, from the items a redemption really writes.
if (!capturedRedeem) throw new Error('no redemption captured');
const [cardPut, entryPut, idemPut] = capturedRedeem.map((item) => item.Put?.Item as Record<string, unknown>);
if (!cardPut || !entryPut || !idemPut) throw new Error('expected three Puts in a redemption');
const size = (item: Record<string, unknown>) => itemBytes(marshall(item, { removeUndefinedValues: true }));
const kb = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const sizes = { card: size(cardPut), entry: size(entryPut), idempotency: size(idemPut) };
const slimIdempotency = size({ ...idemPut, result: String(entryPut.id) });
// The last idempotency key (a 22-character base64url hash prefix) and its entry number kept on the card.
const cardWithKey = size({ ...cardPut, lastKey: 'x'.repeat(22), lastKeySeq: 123 });
const txWrite = (...bytes: number[]) => bytes.reduce((sum, b) => sum + 2 * kb(b), 0);
const design = (description: string, read: number, write: number, roundTrips: string) => ({
  description,
  roundTrips,
  units: { read, write },
  dollarsPerMillion: dollarsPerMillion({ read, write }),
});
const floor = {
  itemBytes: { ...sizes, slimIdempotency, cardWithLastKey: cardWithKey },
  designs: {
    current: design(
      'GetItem card (strong) + TransactWriteItems[card, entry, idempotency record with the sealed response]',
      1,
      txWrite(sizes.card, sizes.entry, sizes.idempotency),
      '1 read + 1 write',
    ),
    slimIdempotencyRecord: design(
      'same, the idempotency record keeps only the request hash and the transaction id (replay rebuilds the answer from the immutable entry)',
      1,
      txWrite(sizes.card, sizes.entry, slimIdempotency),
      '1 read + 1 write',
    ),
    twoItemTransaction: design(
      'eventually consistent GetItem (the seq condition catches a stale read) + TransactWriteItems[card carrying the last idempotency key, entry]',
      0.5,
      txWrite(cardWithKey, sizes.entry),
      '1 read + 1 write',
    ),
    fromCodeCurrent: design(
      'lookup + redeem as today (a till starting from the code)',
      2,
      txWrite(sizes.card, sizes.entry, sizes.idempotency),
      '2 reads + 1 write',
    ),
  },
  goal: '<= 4 write units in one write round trip (+ at most one read when starting from a code)',
};

// Calibration: DynamoDB Local's ConsumedCapacity against the rules, on items of known size.
const raw = new DynamoDBClient({
  endpoint: stack.dynamodbEndpoint,
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
});
const calibrationMeter = new CapacityMeter({ keyAttributes: ['PK'], indexes: [] }).attach(raw);
const calibrationTable = `bench-calibration-${Date.now()}`;
await raw.send(
  new CreateTableCommand({
    TableName: calibrationTable,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'PK', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }],
  }),
);
const item = (bytes: number) => ({ PK: { S: randomUUID() }, d: { S: 'x'.repeat(Math.max(0, bytes - 38)) } });
const calibration: { request: string; reported: number; computed: number }[] = [];
for (const bytes of [500, 1500, 3000]) {
  const from = calibrationMeter.calls.length;
  await raw.send(new PutItemCommand({ TableName: calibrationTable, Item: item(bytes) }));
  const [call] = calibrationMeter.since(from);
  calibration.push({
    request: `PutItem ${bytes} B`,
    reported: call?.reported?.write ?? Number.NaN,
    computed: call?.computed.write ?? Number.NaN,
  });
}
for (const set of [
  [100, 100, 100],
  [500, 400, 1400],
  [1500, 100],
]) {
  const from = calibrationMeter.calls.length;
  await raw.send(
    new TransactWriteItemsCommand({
      TransactItems: set.map((bytes) => ({ Put: { TableName: calibrationTable, Item: item(bytes) } })),
    }),
  );
  const [call] = calibrationMeter.since(from);
  calibration.push({
    request: `TransactWriteItems of Puts ${set.join(' + ')} B`,
    reported: call?.reported?.write ?? Number.NaN,
    computed: call?.computed.write ?? Number.NaN,
  });
}
await raw.send(new DeleteTableCommand({ TableName: calibrationTable }));
raw.destroy();

const redeem = operations.redeem as OperationFigures;
const redeemCalls = redeem.commands.split(' + ');
const goalMet =
  redeem.computed.write <= 4 &&
  redeemCalls.filter((c) => /^(Put|Update|Delete|Transact|BatchWrite)/.test(c)).length === 1 &&
  redeemCalls.filter((c) => /^(Get|Query|Scan|BatchGet)/.test(c)).length === 0;
emit({
  bench: 'cost',
  machine: machine(),
  code: codeState(),
  settings: { operationsEach: OPERATIONS, prices: ON_DEMAND_PRICE, authCacheSeconds: 300 },
  operations,
  composite: {
    redeemFromCode: {
      units: sumOf('lookup', 'redeem'),
      dollarsPerMillion: dollarsPerMillion(sumOf('lookup', 'redeem')),
    },
    redeemWithStreamConsumer: {
      units: sumOf('redeem', 'streamLedgerIntegrity'),
      dollarsPerMillion: dollarsPerMillion(sumOf('redeem', 'streamLedgerIntegrity')),
    },
  },
  floor,
  calibration,
  goal: {
    goal: floor.goal,
    redeemWriteUnits: redeem.computed.write,
    redeemCalls: redeem.commands,
    redeemReadRoundTrips: redeem.commands.split(' + ').filter((c) => /^(Get|Query|Scan|BatchGet)/.test(c))
      .length,
    redeemWriteRoundTrips: redeem.commands
      .split(' + ')
      .filter((c) => /^(Put|Update|Delete|Transact|BatchWrite)/.test(c)).length,
    met: goalMet,
  },
});

client.close();
await stack.stop();
