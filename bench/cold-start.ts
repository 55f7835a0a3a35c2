/**
 * Goal 4: cold start per function. Each function in functions/api/*.ts and each stream consumer module
 * (functions/streams, from the registry) is bundled as the CDK construct bundles it (lib/constructs/bundle.ts:
 * esbuild, minify, platform node, target node22, ESM split into chunks with the createRequire banner, source
 * maps, the AWS SDK bundled too),
 * and so is a minimal handler (bench/cold-start/minimal-handler.ts: one DynamoDB client, one GetItem).
 * Then, several times each and interleaved, a fresh `node` process imports the bundle and serves one
 * request against DynamoDB Local (bench/cold-start/invoke.mjs). Two settings: as deployed (no
 * --enable-source-maps: the maps are read only when an error is logged, functions/observability/
 * stack-positions.ts) and with NODE_OPTIONS=--enable-source-maps (as deployed until 2026-12-03).
 * Knobs: BENCH_COLD_RUNS (9); BENCH_COLD_ONLY=wallet,cards measures only the named functions (and the
 * minimal baseline); BENCH_COLD_PROFILE=cards,wallet adds one more cold start of each named
 * function under `--cpu-prof` and prints where its CPU time went, by package or own source file
 * (bench/lib/cpu-profile.ts), averaged over BENCH_COLD_PROFILE_RUNS (1) profiled cold starts (BENCH_COLD_PROFILE_PHASE=import or
 * request profiles only that phase); the
 * profiles stay in $TMPDIR/giftcard-cold-profiles/<function>.
 * BENCH_COLD_EXTRA=wallet@main=/path/to/other/checkout/functions/api/wallet.ts adds that entry (another
 * checkout's function, e.g. a `git worktree` of main with this node_modules linked in) as one more
 * target serving the named function's request, interleaved with the others: before and after in one run.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ROUTES } from '../functions/http/route-table';
import { entryKey } from '../functions/store/keys';
import { STREAM_CONSUMERS } from '../functions/streams/registry';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynamodb';
import { handlerEnvironment } from '../local/handler-env';
import { loadOrCreateLocalSecrets } from '../local/secrets';
import { type ColdStartBundle, coldStartBundle } from './lib/cold-start-bundles';
import { type ProfileSummary, summarizeProfile } from './lib/cpu-profile';
import { emit, knob, progress } from './lib/env';
import { jsonClient } from './lib/http-client';
import { apiEvent, issueCard, startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { median, ratio, round } from './lib/stats';

const RUNS = knob('COLD_RUNS', 9);
const PROFILE = (process.env.BENCH_COLD_PROFILE ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
/** Profiled cold starts per BENCH_COLD_PROFILE function; their self times are averaged. */
const PROFILE_RUNS = knob('COLD_PROFILE_RUNS', 1);
/** What the profiles cover: the whole process (`all`), or only the import or the first request. */
const PROFILE_PHASE = process.env.BENCH_COLD_PROFILE_PHASE ?? 'all';
if (!['all', 'import', 'request'].includes(PROFILE_PHASE))
  throw new Error(`BENCH_COLD_PROFILE_PHASE: want all, import or request, got ${PROFILE_PHASE}`);
const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(tmpdir(), `giftcard-bench-cold-${process.pid}`);

interface Target {
  readonly name: string;
  readonly entry: string;
  readonly kind: 'api' | 'stream' | 'baseline' | 'probe';
}

/** The API function a target serves: `wallet@main` serves what `wallet` does. */
const functionOf = (target: Target) => target.name.split('@')[0] ?? target.name;
const EXTRA: Target[] = (process.env.BENCH_COLD_EXTRA ?? '')
  .split(',')
  .map((spec) => spec.trim())
  .filter(Boolean)
  .map((spec) => {
    const [name, entry] = spec.split('=');
    if (!name?.includes('@') || !entry)
      throw new Error(`BENCH_COLD_EXTRA: want name@label=/path, got ${spec}`);
    return { name, entry: resolve(entry), kind: 'api' as const };
  });

const apiFunctions = readdirSync(join(ROOT, 'functions/api'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => basename(file, '.ts'));
const ONLY = (process.env.BENCH_COLD_ONLY ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const allTargets: Target[] = [
  { name: 'minimal', entry: join(ROOT, 'bench/cold-start/minimal-handler.ts'), kind: 'baseline' },
  { name: 'zod-only', entry: join(ROOT, 'bench/cold-start/zod-only.ts'), kind: 'probe' },
  { name: 'minimal-redeem', entry: join(ROOT, 'bench/cold-start/minimal-redeem.ts'), kind: 'probe' },
  ...apiFunctions.map((fn) => ({
    name: fn,
    entry: join(ROOT, `functions/api/${fn}.ts`),
    kind: 'api' as const,
  })),
  ...[...new Set(STREAM_CONSUMERS.map((consumer) => consumer.module))].map((module) => ({
    name: module,
    entry: join(ROOT, `functions/streams/${module}.ts`),
    kind: 'stream' as const,
  })),
];
// BENCH_COLD_ONLY=wallet,google-wallet measures only those (the minimal baseline always runs).
const targets = [
  ...allTargets.filter(
    (target) => ONLY.length === 0 || target.kind === 'baseline' || ONLY.includes(target.name),
  ),
  ...EXTRA,
];

progress('cold-start: bundling');
mkdirSync(OUT, { recursive: true });
const bundles: Record<string, ColdStartBundle> = {};
for (const target of targets)
  bundles[target.name] = await coldStartBundle(target.entry, join(OUT, target.name));

progress('cold-start: starting the local stack for data');
const stack = await startBenchStack({ consumers: [] });
const client = jsonClient(stack.baseUrl);
const card = await issueCard(client, stack, 50_000);
const redeemed = await client.call('POST', `/v1/cards/${card.id}/redeem`, {
  token: stack.apiKey,
  body: { amount: 100, channel: 'POS', locationId: 'store-1' },
});
if (redeemed.status !== 200) throw new Error(`redeem answered ${redeemed.status}`);
const transactionId = redeemed.body.transaction.id as string;
// A real ledger entry (the redemption) as the stream consumers' INSERT record.
const reader = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    endpoint: stack.dynamodbEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  }),
);
const entryItem = (
  await reader.send(
    new GetCommand({ TableName: stack.tableName, Key: entryKey(card.id, 3), ConsistentRead: true }),
  )
).Item;
reader.destroy();
if (!entryItem) throw new Error('no ledger entry to build a stream record from');
const streamEntry: Record<string, unknown> = entryItem;
const secrets = await loadOrCreateLocalSecrets(join(stack.dataDir, 'secrets.json'));
const environment = {
  ...handlerEnvironment({
    tableName: stack.tableName,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    codePepper: secrets.codePepper,
    issuer: stack.issuer,
    logLevel: 'ERROR',
  }),
  // The local stack's Google service account and stand-in (set in this process's environment by the
  // stack), so google-wallet signs a real save link instead of answering 404 for want of them.
  ...Object.fromEntries(
    ['GOOGLE_SERVICE_ACCOUNT_JSON', 'GOOGLE_WALLET_API_URL', 'GOOGLE_OAUTH_TOKEN_URL']
      .filter((name) => process.env[name])
      .map((name) => [name, process.env[name] as string]),
  ),
  // The local stack's Apple pass certificates (set in this process's environment by the stack), so the
  // wallet function's first request signs a real pass instead of failing for want of them.
  ...(process.env.APPLE_PASS_CERTIFICATES
    ? {
        APPLE_PASS_CERTIFICATES: process.env.APPLE_PASS_CERTIFICATES,
        PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL ?? stack.baseUrl,
      }
    : {}),
  BENCH_GET_KEY: JSON.stringify(marshall({ PK: `CARD#${card.id}`, SK: 'CARD' })),
};

/** One representative request per function: the cards hot path (redeem), else a GET it serves. */
function eventFor(target: Target): unknown {
  if (target.kind === 'baseline' || target.kind === 'probe') return {};
  if (target.kind === 'stream') {
    return {
      Records: [
        {
          eventID: '1',
          eventName: 'INSERT',
          eventSource: 'aws:dynamodb',
          awsRegion: 'us-east-1',
          dynamodb: {
            Keys: marshall({ PK: streamEntry.PK, SK: streamEntry.SK }),
            NewImage: marshall(streamEntry, { removeUndefinedValues: true }),
            SequenceNumber: '1',
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        },
      ],
    };
  }
  if (functionOf(target) === 'cards') {
    return asAuthorized(
      apiEvent('POST', `/v1/cards/${card.id}/redeem`, {
        token: stack.apiKey,
        body: { amount: 1, channel: 'POS' },
        idempotencyKey: '__IDEMPOTENCY_KEY__',
      }),
      'merchant',
    );
  }
  const known: Record<string, string> = {
    cardId: card.id,
    programId: stack.programId,
    merchantId: stack.merchantId,
    transactionId,
  };
  const candidates = ROUTES.filter((route) => route.fn === functionOf(target) && route.method === 'GET');
  const params = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const route =
    candidates.find((r) => params(r.path).length > 0 && params(r.path).every((p) => known[p])) ??
    candidates.find((r) => params(r.path).length === 0);
  if (!route) return undefined;
  const today = new Date().toISOString().slice(0, 10);
  // Routes with required query parameters get them, so the bench measures a full request, not a 400.
  const query = route.path === '/v1/reports/summary' ? `?from=${today}&to=${today}` : '';
  const path = `${route.path.replace(/\{(\w+)\}/g, (_, name: string) => known[name] ?? name)}${query}`;
  const access = route.access;
  const token = access.public ? undefined : access.merchant ? stack.apiKey : stack.staffTokens.admin;
  const event = apiEvent('GET', path, token ? { token } : {});
  return access.public ? event : asAuthorized(event, access.merchant ? 'merchant' : 'staff');
}

/**
 * What API Gateway adds to a request its authorizer let through (functions/http/authorizer.ts): the
 * principal's context, as the deployed functions receive it.
 */
function asAuthorized(
  event: APIGatewayProxyEvent,
  principalType: 'merchant' | 'staff',
): APIGatewayProxyEvent {
  const authorizer =
    principalType === 'merchant'
      ? { principalType, usagePlan: 'standard', merchantId: stack.merchantId, programIds: stack.programId }
      : { principalType, usagePlan: 'staff', sub: 'bench-admin' };
  return { ...event, requestContext: { ...event.requestContext, authorizer } };
}

const events: Record<string, string> = {};
const described: Record<string, string> = {};
for (const target of targets) {
  const event = eventFor(target) as { httpMethod?: string; path?: string } | undefined;
  if (!event) continue;
  const file = join(OUT, `${target.name}.event.json`);
  writeFileSync(file, JSON.stringify(event));
  events[target.name] = file;
  described[target.name] =
    target.kind === 'probe'
      ? target.name === 'minimal-redeem'
        ? 'GetItem + TransactWriteItems (3 items): the calls a redemption needs'
        : 'import zod, parse one object'
      : target.kind === 'baseline'
        ? 'GetItem'
        : target.kind === 'stream'
          ? 'one INSERT record (a REDEEM entry)'
          : `${event.httpMethod} ${event.path}`;
}

interface Run {
  nodeBootMs: number;
  importMs: number;
  firstRequestMs: number;
  sinceProcessStartMs: number;
  bootCpuMs: number;
  importCpuMs: number;
  firstRequestCpuMs: number;
  roundTrips: number;
  status: number | string;
  wallMs: number;
}

function coldStart(
  bundle: string,
  eventFile: string,
  sourceMaps: boolean,
  profileDir?: string,
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const profileArgs =
      profileDir && PROFILE_PHASE === 'all'
        ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=200']
        : [];
    const phaseProfile =
      profileDir && PROFILE_PHASE !== 'all'
        ? {
            BENCH_PROFILE_PHASE: PROFILE_PHASE,
            BENCH_PROFILE_OUT: join(profileDir, `${PROFILE_PHASE}.${started}.cpuprofile`),
          }
        : {};
    const child = spawn(
      process.execPath,
      [...profileArgs, join(ROOT, 'bench/cold-start/invoke.mjs'), bundle, eventFile],
      {
        env: {
          PATH: process.env.PATH ?? '',
          ...environment,
          ...phaseProfile,
          NODE_OPTIONS: sourceMaps ? '--enable-source-maps' : '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`cold start of ${bundle} failed (${code}): ${err.slice(0, 500)}`));
        return;
      }
      resolvePromise({ ...(JSON.parse(line) as Omit<Run, 'wallMs'>), wallMs });
    });
  });
}

const settings = [
  { name: 'deployed (source maps read only for a logged error)', sourceMaps: false, deployed: true },
  { name: 'with --enable-source-maps', sourceMaps: true, deployed: false },
];
const runs: Record<string, Record<string, Run[]>> = {};
for (let r = 0; r < RUNS; r++) {
  for (const setting of settings) {
    for (const target of targets) {
      const eventFile = events[target.name];
      const bundle = bundles[target.name];
      if (!eventFile || !bundle) continue;
      const run = await coldStart(bundle.file, eventFile, setting.sourceMaps);
      const bySetting = runs[setting.name] ?? {};
      runs[setting.name] = bySetting;
      const list = bySetting[target.name] ?? [];
      bySetting[target.name] = list;
      list.push(run);
    }
  }
  progress(`cold-start: run ${r + 1}/${RUNS} done`);
}

const profiles: Record<string, ProfileSummary & { totalMs: number; profile: string }> = {};
for (const name of PROFILE) {
  const bundle = bundles[name];
  const eventFile = events[name];
  if (!bundle || !eventFile) throw new Error(`BENCH_COLD_PROFILE: no function named ${name}`);
  // Kept for a closer look (Chrome DevTools), outside the tree: the bundle is no source to lint.
  const dir = join(tmpdir(), 'giftcard-cold-profiles', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const totals: number[] = [];
  for (let r = 0; r < PROFILE_RUNS; r++)
    totals.push((await coldStart(bundle.file, eventFile, false, dir)).sinceProcessStartMs);
  const files = readdirSync(dir)
    .filter((entry) => entry.endsWith('.cpuprofile'))
    .map((entry) => join(dir, entry));
  const file = files[0];
  if (!file) throw new Error(`no CPU profile written for ${name}`);
  const summary = summarizeProfile(files, bundle.file);
  // The bundle (its chunks and maps) beside the profile, so the profile can be read after OUT is removed.
  cpSync(dirname(bundle.file), join(dir, 'bundle'), { recursive: true });
  profiles[name] = { totalMs: round(median(totals), 1), profile: file, ...summary };
}

const medianOf = (list: Run[], key: keyof Run) => round(median(list.map((run) => Number(run[key]))), 1);
const pairedRatio = (list: Run[], baseline: Run[]) =>
  round(
    median(
      list.flatMap((run, index) => {
        const base = baseline[index]?.sinceProcessStartMs;
        return base ? [run.sinceProcessStartMs / base] : [];
      }),
    ),
    2,
  );
const results: Record<string, Record<string, unknown>> = {};
const goals: Record<
  string,
  { ratioTotal: number; ratioImportAndRequest: number; met: boolean; ratioToRedeemFloor?: number }
> = {};
for (const setting of settings) {
  const bySetting = runs[setting.name] ?? {};
  const baseline = medianOf(bySetting.minimal ?? [], 'sinceProcessStartMs');
  const baselineImportAndRequest =
    medianOf(bySetting.minimal ?? [], 'importMs') + medianOf(bySetting.minimal ?? [], 'firstRequestMs');
  const table: Record<string, unknown> = {};
  for (const target of targets) {
    const list = bySetting[target.name];
    if (!list) continue;
    const total = medianOf(list, 'sinceProcessStartMs');
    const importAndRequest = medianOf(list, 'importMs') + medianOf(list, 'firstRequestMs');
    table[target.name] = {
      request: described[target.name],
      bundleKb: bundles[target.name]?.kb,
      nodeBootMs: medianOf(list, 'nodeBootMs'),
      importMs: medianOf(list, 'importMs'),
      firstRequestMs: medianOf(list, 'firstRequestMs'),
      totalMs: total,
      // CPU time of the process (user + system): steadier than wall time on a busy machine.
      cpuMs: {
        boot: medianOf(list, 'bootCpuMs'),
        import: medianOf(list, 'importCpuMs'),
        firstRequest: medianOf(list, 'firstRequestCpuMs'),
      },
      processWallMs: medianOf(list, 'wallMs'),
      roundTrips: medianOf(list, 'roundTrips'),
      statuses: [...new Set(list.map((run) => String(run.status)))].join(','),
      ratioTotal: ratio(total, baseline),
      // Each run's total against the minimal handler's of the same round (started moments apart), then
      // the median: steadier than the ratio of medians when the machine's load drifts during the bench.
      ratioTotalPaired: pairedRatio(list, bySetting.minimal ?? []),
      ratioImportAndRequest: ratio(importAndRequest, baselineImportAndRequest),
    };
    if ((target.kind === 'api' || target.kind === 'stream') && setting.deployed) {
      const redeemFloor = bySetting['minimal-redeem'];
      goals[target.name] = {
        ratioTotal: ratio(total, baseline),
        ratioImportAndRequest: ratio(importAndRequest, baselineImportAndRequest),
        met: ratio(total, baseline) <= 1.3,
        // The redemption against a minimal handler making the same two DynamoDB calls it needs.
        ...(target.name === 'cards' && redeemFloor
          ? { ratioToRedeemFloor: ratio(total, medianOf(redeemFloor, 'sinceProcessStartMs')) }
          : {}),
      };
    }
  }
  results[setting.name] = table;
}

emit({
  bench: 'cold-start',
  machine: machine(),
  code: codeState(),
  settings: {
    runs: RUNS,
    esbuild:
      'lib/constructs/bundle.ts as deployed: minify, sourcemap, platform node, target node22, format esm split into chunks, createRequire banner, AWS SDK bundled; bundleKb is what the import compiles (entry + static chunks)',
    measuredAs:
      'totalMs = process start to the first answer (node boot + import + first request), median of runs; ratios against the minimal handler in the same setting',
  },
  bundles: Object.fromEntries(
    Object.entries(bundles).map(([name, { file: _file, ...rest }]) => [name, rest]),
  ),
  coldStarts: results,
  ...(PROFILE.length > 0 ? { profiles } : {}),
  goals: { goal: 'total within 1.3x of the minimal handler (as deployed)', perFunction: goals },
});

client.close();
await stack.stop();
rmSync(OUT, { recursive: true, force: true });
