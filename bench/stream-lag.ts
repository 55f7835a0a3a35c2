/**
 * Goal 6: stream lag under the local runtime: from a committed redemption (its TransactWriteItems
 * answered, seen by an SDK middleware on the handlers' client) to the ledger-integrity consumer being
 * invoked with its ledger entry (a wrapped loadStreamHandler passed to startLocalStack).
 * Redemptions go one at a time with random pauses (so commits fall at every phase of the poll cycle),
 * then a burst of parallel redemptions on different cards.
 * Also (wallet pass sync): every card has an Apple device registered, and `walletPushLagMs` is the time
 * from the same commit to the wallet-sync consumer's APNs push arriving at the local APNs stand-in
 * (stream poll + consumer + registration query + HTTP/2 push), the first push to the card's device after
 * the commit.
 * Knobs: BENCH_STREAM_REDEMPTIONS (100), BENCH_STREAM_BURST (50), BENCH_STREAM_POLL_MS (the runtime's
 * default when unset, 250 ms like Lambda's four polls a second).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { registerAppleDevice, rememberApplePass } from '../functions/store/apple-passes';
import { db } from '../functions/store/dynamo-client';
import { importStreamHandler, type StreamHandlerLoader } from '../local/handlers';
import { emit, knob, progress } from './lib/env';
import { jsonClient } from './lib/http-client';
import { type IssuedCard, issueCard, startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { summarize } from './lib/stats';

const REDEMPTIONS = knob('STREAM_REDEMPTIONS', 100);
const BURST = knob('STREAM_BURST', 50);
const POLL_MS = knob('STREAM_POLL_MS', 0);

const TARGET = 'ledger-integrity';
/** Per consumer module: when it was first invoked with each ledger entry, and its batch sizes. */
const seenBy = new Map<string, Map<string, number>>();
const batchesBy = new Map<string, number[]>();
const loadStreamHandler: StreamHandlerLoader = async (module) => {
  const real = await importStreamHandler(module);
  const seenHere = seenBy.get(module) ?? new Map<string, number>();
  seenBy.set(module, seenHere);
  const batches = batchesBy.get(module) ?? [];
  batchesBy.set(module, batches);
  return (event: DynamoDBStreamEvent, context) => {
    const at = performance.now();
    batches.push(event.Records.length);
    for (const record of event.Records) {
      const id = record.dynamodb?.NewImage?.id?.S;
      if (id && !seenHere.has(id)) seenHere.set(id, at);
    }
    return real(event, context);
  };
};
const seenByTarget = () => seenBy.get(TARGET) ?? new Map<string, number>();

const stack = await startBenchStack({
  loadStreamHandler,
  ...(POLL_MS > 0 ? { pollIntervalMs: POLL_MS } : {}),
});
const client = jsonClient(stack.baseUrl, 16);

// When each ledger entry's transaction was acknowledged by DynamoDB.
const committed = new Map<string, number>();
(db().middlewareStack as unknown as { add(m: unknown, o: Record<string, unknown>): void }).add(
  (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: { TransactItems?: { Put?: { Item?: Record<string, { S?: string }> } }[] } }) => {
      const result = await next(args);
      if (context.commandName === 'TransactWriteItemsCommand') {
        const at = performance.now();
        for (const item of args.input.TransactItems ?? []) {
          const put = item.Put?.Item;
          if (put?.SK?.S?.startsWith('TX#') && put.id?.S) committed.set(put.id.S, at);
        }
      }
      return result;
    },
  { step: 'build', name: 'benchCommitTime', priority: 'low' },
);

const cards: IssuedCard[] = [];
for (let i = 0; i < Math.max(1, BURST); i++) cards.push(await issueCard(client, stack, 50_000));

// One registered Apple device per card (as the PassKit web service writes it): each redemption pushes.
const pushTokenOf = new Map<string, string>();
for (const card of cards) {
  const tokenHash = createHash('sha256').update(randomBytes(16)).digest('hex');
  await rememberApplePass({
    cardId: card.id,
    tokenHash,
    passTypeIdentifier: 'pass.bench.giftcard',
    createdAt: new Date().toISOString(),
  });
  const pushToken = randomBytes(32).toString('hex');
  await registerAppleDevice(
    {
      cardId: card.id,
      programId: stack.programId,
      deviceLibraryIdentifier: randomBytes(16).toString('hex'),
      passTypeIdentifier: 'pass.bench.giftcard',
      pushToken,
    },
    tokenHash,
  );
  pushTokenOf.set(card.id, pushToken);
}
const cardOfTransaction = new Map<string, string>();

async function waitForAll(ids: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ids.some((id) => !seenByTarget().has(id))) {
    if (Date.now() > deadline) throw new Error('the stream consumer did not see every entry in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function redeem(card: IssuedCard): Promise<string> {
  const answer = await client.call('POST', `/v1/cards/${card.id}/redeem`, {
    token: stack.apiKey,
    body: { amount: 1, channel: 'POS' },
  });
  if (answer.status !== 200) throw new Error(`redeem answered ${answer.status}`);
  cardOfTransaction.set(answer.body.transaction.id as string, card.id);
  return answer.body.transaction.id as string;
}

let seed = 7;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
// Let the issue entries drain first.
await stack.poller.drain(60_000);

progress(`stream-lag: ${REDEMPTIONS} redemptions one at a time`);
const sequentialIds: string[] = [];
for (let i = 0; i < REDEMPTIONS; i++) {
  sequentialIds.push(await redeem(cards[i % cards.length] as IssuedCard));
  await new Promise((resolve) => setTimeout(resolve, random() * 500));
}
await waitForAll(sequentialIds);

progress(`stream-lag: a burst of ${BURST} parallel redemptions`);
const burstBatchesFrom = (batchesBy.get(TARGET) ?? []).length;
const burstIds = await Promise.all(cards.slice(0, BURST).map((card) => redeem(card)));
await waitForAll(burstIds);

/** Lags of the entries the consumer saw (another consumer's filters may leave some out). */
const lags = (ids: readonly string[], module = TARGET) =>
  summarize(
    ids
      .map((id) => (seenBy.get(module)?.get(id) ?? Number.NaN) - (committed.get(id) ?? Number.NaN))
      .filter((lag) => Number.isFinite(lag)),
  );
/** Commit -> the first push to the card's device that reached the APNs stand-in after it. */
const pushAt = (id: string): number => {
  const commit = committed.get(id) ?? Number.NaN;
  const token = pushTokenOf.get(cardOfTransaction.get(id) ?? '');
  const push = stack.apns.pushes.find((p) => p.pushToken === token && p.receivedAtPerf >= commit);
  return push ? push.receivedAtPerf : Number.NaN;
};
async function waitForPushes(ids: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ids.some((id) => Number.isNaN(pushAt(id)))) {
    if (Date.now() > deadline)
      throw new Error('the wallet-sync consumer did not push for every entry in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
await waitForPushes([...sequentialIds, ...burstIds]);
const pushLags = (ids: readonly string[]) =>
  summarize(ids.map((id) => pushAt(id) - (committed.get(id) ?? Number.NaN)).filter(Number.isFinite));
// wallet-sync reads card items (not ledger entries): its figure is walletPushLagMs.
const others = [...seenBy.keys()].filter((module) => module !== TARGET && module !== 'wallet-sync');
emit({
  bench: 'stream-lag',
  machine: machine(),
  code: codeState(),
  settings: {
    redemptions: REDEMPTIONS,
    burst: BURST,
    pollIntervalMs: POLL_MS > 0 ? POLL_MS : 'runtime default (250)',
    measured: 'TransactWriteItems acknowledged -> ledger-integrity consumer invoked with the entry',
  },
  consumer: TARGET,
  sequentialLagMs: lags(sequentialIds),
  burstLagMs: lags(burstIds),
  burstBatchSizes: (batchesBy.get(TARGET) ?? []).slice(burstBatchesFrom),
  walletPushLagMs: {
    measured: 'TransactWriteItems acknowledged -> wallet-sync APNs push received by the local APNs stand-in',
    sequential: pushLags(sequentialIds),
    burst: pushLags(burstIds),
  },
  otherConsumers: Object.fromEntries(
    others.map((module) => [
      module,
      {
        sequentialLagMs: lags(sequentialIds, module),
        burstLagMs: lags(burstIds, module),
      },
    ]),
  ),
});

client.close();
await stack.stop();
