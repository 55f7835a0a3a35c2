/**
 * Goal 5: contention, and the proof that nothing was overspent.
 *
 * A. One hot card, 1,000 parallel redemptions through the local HTTP server (all in flight at once from a
 *    separate client process). The card holds half of what is asked: exactly half must succeed.
 * B. The same hot card, but served like Lambda: BENCH_CONTENTION_INSTANCES (8) separate processes, each
 *    one request at a time with its own SDK client and no shared in-process queue, so only DynamoDB's
 *    conditions stand between them (the local server's per-card single flight cannot help).
 * C. BENCH_CONTENTION_CARDS (10,000) cards, then BENCH_CONTENTION_REQUESTS (5,000) mixed requests
 *    (50% redeem, 25% load, 25% lookup by code) from BENCH_CONTENTION_CLIENTS (64) concurrent clients.
 * Proof: the whole table is scanned; for every card, balance == sum of its ledger entries, entry numbers
 * run 1..seq without gaps, no balance after an entry is negative, and balance == what the clients were
 * told (issue amount + answered loads - answered redemptions).
 * Stream consumers are off (in AWS they run in their own functions, not on these two cores).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynamodb';
import { handlerEnvironment } from '../local/handler-env';
import { loadOrCreateLocalSecrets } from '../local/secrets';
import { cpuMark, cpuPerRequest, dynamoDbLocalPid } from './lib/cpu';
import { emit, knob, progress } from './lib/env';
import { jsonClient } from './lib/http-client';
import type { InstanceAnswer, InstanceJob } from './lib/instance-worker';
import { runLoad } from './lib/load';
import type { LoadRequest, LoadResult } from './lib/load-worker';
import { type BenchStack, issueCard, startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { round, summarize, tally } from './lib/stats';

const HOT_REQUESTS = knob('CONTENTION_HOT_REQUESTS', 1000);
const INSTANCES = knob('CONTENTION_INSTANCES', 8);
const CARDS = knob('CONTENTION_CARDS', 10_000);
const REQUESTS = knob('CONTENTION_REQUESTS', 5_000);
const CLIENTS = knob('CONTENTION_CLIENTS', 64);
const ISSUE_AMOUNT = 20_000;
const HOT_AMOUNT = 100;

const stack = await startBenchStack({ consumers: [] });
const client = jsonClient(stack.baseUrl);
const javaPid = dynamoDbLocalPid(Number(new URL(stack.dynamodbEndpoint).port));
const scanClient = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    endpoint: stack.dynamodbEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  }),
);

interface Ledger {
  card?: { balance: number; available: number; seq: number; status: string };
  entries: { seq: number; amount: number; balanceAfter: number }[];
}

/** Every card and ledger entry in the table, by card id, from a parallel scan. */
async function readLedgers(): Promise<Map<string, Ledger>> {
  const ledgers = new Map<string, Ledger>();
  const segments = 4;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await scanClient.send(
          new ScanCommand({
            TableName: stack.tableName,
            Segment: segment,
            TotalSegments: segments,
            ExclusiveStartKey: start,
            FilterExpression: 'begins_with(PK, :card)',
            ExpressionAttributeValues: { ':card': 'CARD#' },
          }),
        );
        for (const item of page.Items ?? []) {
          const id = String(item.PK).slice('CARD#'.length);
          const ledger = ledgers.get(id) ?? { entries: [] };
          ledgers.set(id, ledger);
          if (item.SK === 'CARD') {
            ledger.card = {
              balance: item.balance,
              available: item.available,
              seq: item.seq,
              status: item.status,
            };
          } else if (String(item.SK).startsWith('TX#')) {
            ledger.entries.push({ seq: item.seq, amount: item.amount, balanceAfter: item.balanceAfter });
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
  return ledgers;
}

/** Checks every card's ledger; `expected` adds what the clients were told, by card id. */
function audit(ledgers: Map<string, Ledger>, expected?: Map<string, number>) {
  const violations: string[] = [];
  let cards = 0;
  let entries = 0;
  for (const [id, ledger] of ledgers) {
    if (!ledger.card) continue;
    cards += 1;
    entries += ledger.entries.length;
    const sum = ledger.entries.reduce((total, entry) => total + entry.amount, 0);
    const seqs = ledger.entries.map((entry) => entry.seq).sort((a, b) => a - b);
    if (sum !== ledger.card.balance)
      violations.push(`${id}: balance ${ledger.card.balance} != ledger sum ${sum}`);
    if (seqs.length !== ledger.card.seq || seqs.some((seq, i) => seq !== i + 1)) {
      violations.push(`${id}: entries ${seqs.length} do not run 1..${ledger.card.seq}`);
    }
    if (ledger.entries.some((entry) => entry.balanceAfter < 0) || ledger.card.available < 0) {
      violations.push(`${id}: a negative balance`);
    }
    if (ledger.card.available > ledger.card.balance) violations.push(`${id}: available above balance`);
    const told = expected?.get(id);
    if (told !== undefined && told !== ledger.card.balance) {
      violations.push(`${id}: clients were told ${told}, the card holds ${ledger.card.balance}`);
    }
  }
  return {
    cardsChecked: cards,
    entriesChecked: entries,
    violations: violations.length,
    examples: violations.slice(0, 5),
  };
}

const latency = (results: readonly { ms: number }[]) => summarize(results.map((r) => r.ms));
const outcomes = (results: readonly { status: number; code?: string }[]) =>
  tally(
    results.map((r) =>
      r.status === 200 || r.status === 201 ? String(r.status) : `${r.status} ${r.code ?? ''}`.trim(),
    ),
  );

// A. One hot card through the local HTTP server.
progress(`contention: A. ${HOT_REQUESTS} parallel redemptions of one card through the local server`);
const hot = await issueCard(client, stack, (HOT_REQUESTS / 2) * HOT_AMOUNT);
const hotCpu = cpuMark(javaPid);
const hotLoad = await runLoad({
  baseUrl: stack.baseUrl,
  concurrency: HOT_REQUESTS,
  requests: Array.from({ length: HOT_REQUESTS }, () => ({
    method: 'POST',
    path: `/v1/cards/${hot.id}/redeem`,
    token: stack.apiKey,
    body: { amount: HOT_AMOUNT, channel: 'POS' },
  })),
});
const hotCpuUse = cpuPerRequest(hotCpu, cpuMark(javaPid), HOT_REQUESTS, hotLoad.cpuMs);
const hotOk = hotLoad.results.filter((r) => r.status === 200).length;
const afterHot = await readLedgers();
const hotCard = afterHot.get(hot.id);
const hotResult = {
  requests: HOT_REQUESTS,
  cardHeld: hot.balance,
  elapsedMs: round(hotLoad.elapsedMs, 0),
  throughputPerSecond: round((HOT_REQUESTS / hotLoad.elapsedMs) * 1000, 0),
  latencyMs: latency(hotLoad.results),
  outcomes: outcomes(hotLoad.results),
  cpuPerRequest: hotCpuUse,
  expectedSuccesses: Math.min(HOT_REQUESTS, Math.floor(hot.balance / HOT_AMOUNT)),
  finalBalance: hotCard?.card?.balance,
  audit: audit(
    new Map([[hot.id, hotCard ?? { entries: [] }]]),
    new Map([[hot.id, hot.balance - hotOk * HOT_AMOUNT]]),
  ),
};

// B. The same, served by separate "Lambda instances".
progress(`contention: B. ${HOT_REQUESTS} redemptions of one card from ${INSTANCES} separate instances`);
async function runInstances(stackInfo: BenchStack, cardId: string) {
  const secrets = await loadOrCreateLocalSecrets(join(stackInfo.dataDir, 'secrets.json'));
  const env = {
    ...process.env,
    ...handlerEnvironment({
      tableName: stackInfo.tableName,
      dynamodbEndpoint: stackInfo.dynamodbEndpoint,
      codePepper: secrets.codePepper,
      issuer: stackInfo.issuer,
      logLevel: 'ERROR',
    }),
  };
  const perInstance = Math.ceil(HOT_REQUESTS / INSTANCES);
  const workers = Array.from({ length: INSTANCES }, () =>
    fork(join(import.meta.dirname, 'lib/instance-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const waitFor = (worker: (typeof workers)[number], kind: string) =>
    new Promise<{ kind: string; answer?: InstanceAnswer }>((resolve, reject) => {
      const onMessage = (message: { kind: string; answer?: InstanceAnswer }) => {
        if (message.kind !== kind) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`instance exited with ${code}`));
      });
    });
  await Promise.all(workers.map((worker) => waitFor(worker, 'loaded')));
  const job: InstanceJob = { cardId, token: stackInfo.apiKey, count: perInstance, amount: HOT_AMOUNT };
  await Promise.all(
    workers.map((worker) => {
      const ready = waitFor(worker, 'ready');
      worker.send({ kind: 'job', job });
      return ready;
    }),
  );
  const started = process.hrtime.bigint();
  const done = workers.map((worker) => waitFor(worker, 'done'));
  for (const worker of workers) worker.send({ kind: 'go' });
  const answers = (await Promise.all(done)).map((message) => message.answer as InstanceAnswer);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { answers, elapsedMs, total: perInstance * INSTANCES };
}
const hot2 = await issueCard(client, stack, (HOT_REQUESTS / 2) * HOT_AMOUNT);
const instancesCpu = cpuMark(javaPid);
const instances = await runInstances(stack, hot2.id);
const instancesCpuUse = cpuPerRequest(
  instancesCpu,
  cpuMark(javaPid),
  instances.total,
  instances.answers.reduce((sum, a) => sum + a.cpuMs, 0),
);
const instanceResults = instances.answers.flatMap((answer) => answer.results);
const instanceOk = instanceResults.filter((r) => r.status === 200).length;
const attempts = instances.answers.reduce((sum, a) => sum + a.transactAttempts, 0);
const cancelled = instances.answers.reduce((sum, a) => sum + a.transactCancelled, 0);
const hot2Ledger = (await readLedgers()).get(hot2.id);
const instancesResult = {
  instances: INSTANCES,
  requests: instances.total,
  cardHeld: hot2.balance,
  elapsedMs: round(instances.elapsedMs, 0),
  throughputPerSecond: round((instances.total / instances.elapsedMs) * 1000, 0),
  latencyMs: latency(instanceResults),
  outcomes: outcomes(instanceResults),
  transactWriteAttempts: attempts,
  transactWriteCancelled: cancelled,
  cpuPerRequest: { ...instancesCpuUse, instancesMs: instancesCpuUse.loadClientMs, loadClientMs: undefined },
  getItemCalls: instances.answers.reduce((sum, a) => sum + a.reads, 0),
  attemptsPerCommittedRedemption: round(attempts / Math.max(1, instanceOk), 2),
  finalBalance: hot2Ledger?.card?.balance,
  audit: audit(
    new Map([[hot2.id, hot2Ledger ?? { entries: [] }]]),
    new Map([[hot2.id, hot2.balance - instanceOk * HOT_AMOUNT]]),
  ),
};

// C. Many cards, mixed traffic.
progress(`contention: C. issuing ${CARDS} cards`);
const issueCpu = cpuMark(javaPid);
const issued = await runLoad({
  baseUrl: stack.baseUrl,
  concurrency: CLIENTS,
  requests: Array.from({ length: CARDS }, () => ({
    method: 'POST',
    path: '/v1/cards',
    token: stack.apiKey,
    body: {
      programId: stack.programId,
      type: 'DIGITAL',
      amount: ISSUE_AMOUNT,
      activate: true,
      channel: 'POS',
    },
  })),
});
const issueCpuUse = cpuPerRequest(issueCpu, cpuMark(javaPid), CARDS, issued.cpuMs);
const cards = issued.results.filter(
  (r) => r.status === 201 && r.cardId && r.cardCode,
) as Required<LoadResult>[];
if (cards.length === 0) throw new Error(`no card issued: ${JSON.stringify(outcomes(issued.results))}`);

// Seeded pseudo-random choices, so runs are comparable.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
type Kind = 'redeem' | 'load' | 'lookup';
const plan: { kind: Kind; card: Required<LoadResult>; amount: number }[] = Array.from(
  { length: REQUESTS },
  () => {
    const roll = random();
    const kind: Kind = roll < 0.5 ? 'redeem' : roll < 0.75 ? 'load' : 'lookup';
    const amount = kind === 'redeem' ? 100 + Math.floor(random() * 1900) : 500 + Math.floor(random() * 4500);
    return { kind, card: pick(cards), amount };
  },
);
const requests: LoadRequest[] = plan.map(({ kind, card, amount }) =>
  kind === 'lookup'
    ? {
        method: 'POST',
        path: '/v1/cards/lookup',
        token: stack.apiKey,
        body: { code: card.cardCode },
        idempotencyKey: false,
      }
    : {
        method: 'POST',
        path: `/v1/cards/${card.cardId}/${kind}`,
        token: stack.apiKey,
        body: { amount, channel: 'POS' },
      },
);
progress(`contention: C. ${REQUESTS} mixed requests from ${CLIENTS} clients`);
const mixedCpu = cpuMark(javaPid);
const mixed = await runLoad({ baseUrl: stack.baseUrl, concurrency: CLIENTS, requests });
const mixedCpuUse = cpuPerRequest(mixedCpu, cpuMark(javaPid), REQUESTS, mixed.cpuMs);
const told = new Map(cards.map((card) => [card.cardId, card.balance]));
mixed.results.forEach((result, i) => {
  const step = plan[i];
  if (!step || result.status !== 200 || step.kind === 'lookup') return;
  const delta = step.kind === 'load' ? step.amount : -step.amount;
  told.set(step.card.cardId, (told.get(step.card.cardId) ?? 0) + delta);
});
progress('contention: C. scanning the table to audit every card');
const auditStarted = Date.now();
const everything = await readLedgers();
const mixedAudit = audit(everything, told);
const byKind = (kind: Kind) => mixed.results.filter((_, i) => plan[i]?.kind === kind);
const mixedResult = {
  cards: cards.length,
  issue: {
    elapsedMs: round(issued.elapsedMs, 0),
    throughputPerSecond: round((CARDS / issued.elapsedMs) * 1000, 0),
    latencyMs: latency(issued.results),
    outcomes: outcomes(issued.results),
    cpuPerRequest: issueCpuUse,
  },
  requests: REQUESTS,
  clients: CLIENTS,
  elapsedMs: round(mixed.elapsedMs, 0),
  throughputPerSecond: round((REQUESTS / mixed.elapsedMs) * 1000, 0),
  latencyMs: latency(mixed.results),
  cpuPerRequest: mixedCpuUse,
  byKind: Object.fromEntries(
    (['redeem', 'load', 'lookup'] as const).map((kind) => [
      kind,
      { latencyMs: latency(byKind(kind)), outcomes: outcomes(byKind(kind)) },
    ]),
  ),
  auditSeconds: Math.round((Date.now() - auditStarted) / 1000),
  audit: mixedAudit,
};

const overspent = hotResult.audit.violations + instancesResult.audit.violations + mixedAudit.violations;
emit({
  bench: 'contention',
  machine: machine(),
  loadAverageAtEnd: machine().loadAverage1m,
  code: codeState(),
  settings: {
    hotRequests: HOT_REQUESTS,
    instances: INSTANCES,
    cards: CARDS,
    requests: REQUESTS,
    clients: CLIENTS,
    streamConsumers: 'off',
  },
  hotCardLocalServer: hotResult,
  hotCardSeparateInstances: instancesResult,
  mixedTraffic: mixedResult,
  proof: {
    violations: overspent,
    hotCardSuccessesAsExpected: hotOk === hotResult.expectedSuccesses,
    met: overspent === 0 && hotOk === hotResult.expectedSuccesses,
  },
});

client.close();
scanClient.destroy();
await stack.stop();
