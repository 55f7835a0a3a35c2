/**
 * Goal 1: the hot path against its floor, in one process, same run, same DynamoDB Local.
 *
 * Variants, one request at a time, interleaved in a rotating order so machine noise hits all alike:
 *   redeem.floor   GetItem(card, consistent) + TransactWriteItems[card Put, entry Put, idempotency Put]:
 *                  the same items the handler writes (captured from a real redemption), through the same
 *                  SDK document client (the handlers' own), to the same DynamoDB Local;
 *   redeem.direct  the cards Lambda handler called in-process with an API Gateway event (auth, zod,
 *                  idempotency, planning, store), no HTTP;
 *   redeem.http    POST /v1/cards/{id}/redeem through the local API Gateway (node:http keep-alive client);
 *   lookup.floor   one GetItem (consistent, as lookupCard reads);
 *   lookup.checkedFloor  the call a limited lookup needs, bare: one BatchGetItem of the card and the
 *                  caller's failed-check counts (this window and the last; a hit writes nothing);
 *   lookup.direct / lookup.http   POST /v1/cards/lookup {code};
 *   *.http.cachesExpired  the same through HTTP with the API key cache emptied first: what a till gets
 *                  when its instance's last request is older than AUTH_CACHE_SECONDS (5 s), i.e. at low
 *                  traffic per instance (merchants and programs stay cached for REFERENCE_CACHE_SECONDS, 60 s).
 * Extra round trips in the counts of the floor come from the local scheduler's timers in the same process.
 * Each round: warm-up, then N iterations; figures are medians over rounds of each round's percentiles,
 * and ratios are taken per round against that round's floor.
 *
 * The stream consumers are not started (in AWS they run in other Lambda functions; here they would share
 * the two cores and DynamoDB Local with the request path). Knobs: BENCH_HOT_PATH_ITERATIONS (300),
 * BENCH_HOT_PATH_ROUNDS (5), BENCH_HOT_PATH_WARMUP (100).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  BatchGetCommand,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { transactionId } from '../functions/core/ledger';
import { clearApiKeyCache } from '../functions/store/api-keys';
import { db, tableName } from '../functions/store/dynamo-client';
import { cardKey, entrySortKey } from '../functions/store/keys';
import { importApiHandler } from '../local/handlers';
import { emit, knob, progress } from './lib/env';
import { jsonClient } from './lib/http-client';
import { apiEvent, benchContext, issueCard, startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { countRoundTrips } from './lib/round-trips';
import {
  elapsedMs,
  median,
  medianOfRounds,
  pushTo,
  ratio,
  round,
  type Summary,
  summarize,
  tally,
} from './lib/stats';

const ITERATIONS = knob('HOT_PATH_ITERATIONS', 300);
const ROUNDS = knob('HOT_PATH_ROUNDS', 5);
const WARMUP = knob('HOT_PATH_WARMUP', 100);
const AMOUNT = 1;

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;
type Put = NonNullable<TransactItems[number]['Put']>;

const stack = await startBenchStack({ consumers: [] });
const client = jsonClient(stack.baseUrl);
const handler = await importApiHandler('cards');
const doc = db();
const counter = countRoundTrips(doc);

// Capture the TransactWriteItems input of one real redemption: the floor replays the same item shapes.
let capturing = false;
let captured: TransactItems | undefined;
(doc.middlewareStack as unknown as { add(m: unknown, o: Record<string, unknown>): void }).add(
  (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: { TransactItems?: TransactItems } }) => {
      if (capturing && !captured && context.commandName === 'TransactWriteItemsCommand') {
        captured = structuredClone(args.input.TransactItems);
      }
      return next(args);
    },
  { step: 'initialize', name: 'benchCaptureTransaction', priority: 'low' },
);

const stackCard = await issueCard(client, stack, 50_000);
const floorCard = await issueCard(client, stack, 50_000);
capturing = true;
const first = await client.call('POST', `/v1/cards/${stackCard.id}/redeem`, {
  token: stack.apiKey,
  body: { amount: AMOUNT, channel: 'POS', locationId: 'store-1' },
});
capturing = false;
if (first.status !== 200 || !captured) throw new Error(`capturing a redemption failed: ${first.status}`);
const [cardTemplate, entryTemplate, idemTemplate] = (captured as TransactItems).map(
  (item) => item.Put as Put,
);
if (!cardTemplate || !entryTemplate || !idemTemplate)
  throw new Error('expected three Puts in the redemption');

/** The floor: exactly the calls the design needs, with nothing around them. */
async function floorRedeem(cardId: string): Promise<void> {
  const got = await doc.send(
    new GetCommand({ TableName: tableName(), Key: cardKey(cardId), ConsistentRead: true }),
  );
  const card = got.Item as Record<string, number | string>;
  const seq = Number(card.seq) + 1;
  const now = new Date();
  const balance = Number(card.balance) - AMOUNT;
  const available = Number(card.available) - AMOUNT;
  const items: TransactItems = [
    {
      Put: {
        ...(cardTemplate as Put),
        Item: { ...card, balance, available, seq, updatedAt: now.toISOString() },
        ExpressionAttributeValues: {
          ...cardTemplate?.ExpressionAttributeValues,
          ':expectedSeq': seq - 1,
          ...(cardTemplate?.ExpressionAttributeValues?.[':now'] ? { ':now': now.toISOString() } : {}),
        },
      },
    },
    {
      Put: {
        ...(entryTemplate as Put),
        Item: {
          ...entryTemplate?.Item,
          ...cardKey(cardId),
          SK: entrySortKey(seq),
          id: transactionId(cardId, seq),
          cardId,
          seq,
          balanceAfter: balance,
          availableAfter: available,
          createdAt: now.toISOString(),
        },
      },
    },
    {
      Put: {
        ...(idemTemplate as Put),
        Item: {
          ...idemTemplate?.Item,
          PK: `IDEM#M:${stack.merchantId}#${randomBytes(32).toString('hex')}`,
          createdAt: now.toISOString(),
        },
        // The handler's own condition values (the fence's among them), with this write's time.
        ExpressionAttributeValues: {
          ...idemTemplate?.ExpressionAttributeValues,
          ':now': Math.floor(now.getTime() / 1000),
        },
      },
    },
  ];
  await doc.send(new TransactWriteCommand({ TransactItems: items }));
}

async function floorLookup(cardId: string): Promise<void> {
  const got = await doc.send(
    new GetCommand({ TableName: tableName(), Key: cardKey(cardId), ConsistentRead: true }),
  );
  if (!got.Item) throw new Error('floor lookup found no card');
}

/** The bare call of a limited lookup: the card and the caller's two failed-check windows, one BatchGetItem. */
async function floorCheckedLookup(cardId: string): Promise<void> {
  const windowStart = Math.floor(Date.now() / 600_000) * 600_000;
  const counts = [windowStart - 600_000, windowStart].map((start) => ({
    PK: 'FRAUD#caller#merchant#bench-floor',
    SK: `F#${new Date(start).toISOString()}`,
  }));
  const out = await doc.send(
    new BatchGetCommand({
      RequestItems: { [tableName()]: { Keys: [cardKey(cardId), ...counts], ConsistentRead: true } },
    }),
  );
  if (!out.Responses?.[tableName()]?.length) throw new Error('floor lookup found no card');
}

const context = benchContext('giftcard-cards');
async function direct(event: APIGatewayProxyEvent): Promise<number> {
  const result = await handler(event, context);
  return result.statusCode;
}
const redeemBody = { amount: AMOUNT, channel: 'POS', locationId: 'store-1' };

/** What a request finds when the instance's last one was more than AUTH_CACHE_SECONDS (5 s) ago. */
function expireCaches(): void {
  clearApiKeyCache();
}

type Variant = { name: string; run: () => Promise<number | undefined> };
const variants: Variant[] = [
  { name: 'redeem.floor', run: () => floorRedeem(floorCard.id).then(() => 200) },
  {
    name: 'redeem.http',
    run: async () =>
      (
        await client.call('POST', `/v1/cards/${stackCard.id}/redeem`, {
          token: stack.apiKey,
          body: redeemBody,
        })
      ).status,
  },
  {
    name: 'redeem.direct',
    run: () =>
      direct(
        apiEvent('POST', `/v1/cards/${stackCard.id}/redeem`, {
          token: stack.apiKey,
          body: redeemBody,
          idempotencyKey: randomUUID(),
        }),
      ),
  },
  {
    name: 'redeem.http.cachesExpired',
    run: async () => {
      expireCaches();
      return (
        await client.call('POST', `/v1/cards/${stackCard.id}/redeem`, {
          token: stack.apiKey,
          body: redeemBody,
        })
      ).status;
    },
  },
  { name: 'lookup.floor', run: () => floorLookup(floorCard.id).then(() => 200) },
  { name: 'lookup.checkedFloor', run: () => floorCheckedLookup(floorCard.id).then(() => 200) },
  {
    name: 'lookup.http',
    run: async () =>
      (
        await client.call('POST', '/v1/cards/lookup', {
          token: stack.apiKey,
          body: { code: stackCard.code },
          idempotencyKey: false,
        })
      ).status,
  },
  {
    name: 'lookup.http.cachesExpired',
    run: async () => {
      expireCaches();
      return (
        await client.call('POST', '/v1/cards/lookup', {
          token: stack.apiKey,
          body: { code: stackCard.code },
          idempotencyKey: false,
        })
      ).status;
    },
  },
  {
    name: 'lookup.direct',
    run: () =>
      direct(apiEvent('POST', '/v1/cards/lookup', { token: stack.apiKey, body: { code: stackCard.code } })),
  },
];

interface Sample {
  ms: number;
  roundTrips: number;
  dynamoMs: number;
  status: number | undefined;
}

async function runOnce(variant: Variant): Promise<Sample> {
  const before = counter.mark();
  const started = process.hrtime.bigint();
  const status = await variant.run();
  const ms = elapsedMs(started);
  return { ms, roundTrips: counter.count - before.count, dynamoMs: counter.ms - before.ms, status };
}

const rounds: Record<string, Summary>[] = [];
const trips: Record<string, number[]> = {};
const dynamoShare: Record<string, number[]> = {};
const statuses: Record<string, string[]> = {};
const started = Date.now();
for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(i + k) % variants.length] as Variant;
      const sample = await runOnce(variant);
      if (i < WARMUP) continue;
      pushTo(samples, variant.name, sample.ms);
      pushTo(trips, variant.name, sample.roundTrips);
      pushTo(dynamoShare, variant.name, sample.dynamoMs);
      pushTo(statuses, variant.name, String(sample.status));
    }
  }
  rounds.push(Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summarize(values)])));
  progress(
    `hot-path round ${roundIndex + 1}/${ROUNDS}: ${Object.entries(rounds.at(-1) ?? {})
      .map(([name, s]) => `${name} p50 ${s.p50}`)
      .join(', ')}`,
  );
}

const names = variants.map((variant) => variant.name);
const perVariant = Object.fromEntries(
  names.map((name) => [
    name,
    {
      ...medianOfRounds(rounds.map((r) => r[name] as Summary)),
      roundTripsPerRequest: tally((trips[name] ?? []).map(String)),
      dynamoMsMedian: round(median(dynamoShare[name] ?? [])),
      statuses: tally(statuses[name] ?? []),
    },
  ]),
);
const ratios = (
  path: 'redeem' | 'lookup',
  layer: 'http' | 'direct' | 'http.cachesExpired',
  floorName = 'floor',
) => {
  const perRound = rounds.map((r) => {
    const floor = r[`${path}.${floorName}`] as Summary;
    const measured = r[`${path}.${layer}`] as Summary;
    return {
      p50: ratio(measured.p50, floor.p50),
      p90: ratio(measured.p90, floor.p90),
      p99: ratio(measured.p99, floor.p99),
    };
  });
  return {
    p50: round(median(perRound.map((r) => r.p50)), 2),
    p90: round(median(perRound.map((r) => r.p90)), 2),
    p99: round(median(perRound.map((r) => r.p99)), 2),
    perRound,
  };
};
const redeemHttp = ratios('redeem', 'http');
const lookupHttp = ratios('lookup', 'http');
const lookupHttpVsCheckedFloor = ratios('lookup', 'http', 'checkedFloor');

emit({
  bench: 'hot-path',
  machine: machine(),
  code: codeState(),
  settings: {
    iterations: ITERATIONS,
    rounds: ROUNDS,
    warmup: WARMUP,
    streamConsumers: 'off',
    authCacheSeconds: 'default (5)',
  },
  durationSeconds: Math.round((Date.now() - started) / 1000),
  latencyMs: perVariant,
  ratios: {
    redeem: {
      http: redeemHttp,
      direct: ratios('redeem', 'direct'),
      httpCachesExpired: ratios('redeem', 'http.cachesExpired'),
    },
    lookup: {
      http: lookupHttp,
      direct: ratios('lookup', 'direct'),
      httpCachesExpired: ratios('lookup', 'http.cachesExpired'),
      httpVsCheckedFloor: lookupHttpVsCheckedFloor,
    },
  },
  goals: {
    redeemP50: { goal: '<= 1.5x floor', ratio: redeemHttp.p50, met: redeemHttp.p50 <= 1.5 },
    redeemP99: { goal: '<= 2x floor', ratio: redeemHttp.p99, met: redeemHttp.p99 <= 2 },
    lookupP50: { goal: '<= 1.5x floor', ratio: lookupHttp.p50, met: lookupHttp.p50 <= 1.5 },
    lookupP99: { goal: '<= 2x floor', ratio: lookupHttp.p99, met: lookupHttp.p99 <= 2 },
    lookupP50VsCheckedFloor: {
      goal: '<= 1.5x the bare calls a limited lookup needs',
      ratio: lookupHttpVsCheckedFloor.p50,
      met: lookupHttpVsCheckedFloor.p50 <= 1.5,
    },
    lookupP99VsCheckedFloor: {
      goal: '<= 2x the bare calls a limited lookup needs',
      ratio: lookupHttpVsCheckedFloor.p99,
      met: lookupHttpVsCheckedFloor.p99 <= 2,
    },
  },
});

client.close();
await stack.stop();
