import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROUTES } from '../../functions/http/route-table';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { type Answer, judge, type PrincipalName, principalsOf } from '../support/openapi-judge';
import {
  type EntityIds,
  type FuzzRequest,
  OPERATIONS,
  type Operation,
  requestOf,
} from '../support/openapi-requests';
import { fetchBytes, passJsonOf } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * A fuzzer driven by the API's own OpenAPI document (functions/http/openapi.json): for every operation,
 * requests generated from its parameter and request body schemas (valid values, boundaries, wrong types,
 * extra and prototype-pollution fields, hostile strings, deep nesting, bodies that are not JSON), with
 * path ids of real seeded entities, well-formed unknown ids and garbage, sent through the local HTTP
 * server as a merchant API key, an admin, nobody (no or a bogus credential) and, on Apple's PassKit
 * routes, the pass's own token. Every answer must be: never 5xx; no success for a caller the route table
 * does not allow; every error problem+json with a stable code; no stack, file path or internal error
 * text; a success documented for the operation, in its documented media type and schema.
 *
 * Bounded by count (RUNS_PER_OPERATION runs of every operation, each sent as every principal), not by
 * clock, and deterministic: FUZZ_SEED=<n> replays a run; a failure prints the seed and path.
 */
const { raisedLimits } = vi.hoisted(() => {
  // Rate limits stay on (429 is a fine answer), raised so most requests reach the operation.
  const raised = {
    FAILED_CHECKS_LIMIT_PER_CALLER: '5000',
    FAILED_CHECKS_LIMIT_PER_MERCHANT: '5000',
  };
  Object.assign(process.env, raised);
  return { raisedLimits: raised };
});

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);
const RUNS_PER_OPERATION = 15;

// ---------------------------------------------------------------------------------------------------
// The entities the requests name, and the principals.

interface World {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly admin: string;
  readonly passToken: string;
  readonly ids: EntityIds;
}

let stack: LocalStack;
let receiver: Server;
let world: World;

// ---------------------------------------------------------------------------------------------------
// Sending and judging.

let sequence = 0;
let sent = 0;
/** Answers by operation and status: FUZZ_STATS=1 prints them, to see what the fuzzer reaches. */
const statuses = new Map<string, Map<number, number>>();

function count(operation: Operation, principal: PrincipalName, status: number): void {
  const key = `${operation.method} ${operation.path} ${principal}`;
  const byStatus = statuses.get(key) ?? new Map<number, number>();
  byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  statuses.set(key, byStatus);
}

async function send(operation: Operation, fuzz: FuzzRequest, principal: PrincipalName): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (principal === 'merchant') headers.Authorization = `Bearer ${world.apiKey}`;
  if (principal === 'admin') headers.Authorization = `Bearer ${world.admin}`;
  if (principal === 'pass') headers.Authorization = `ApplePass ${world.passToken}`;
  if (principal === 'nobody' && fuzz.bogusAuthorization !== undefined)
    headers.Authorization = fuzz.bogusAuthorization;
  sequence += 1;
  if (fuzz.idempotencyKey === undefined) headers['Idempotency-Key'] = `fuzz-${SEED}-${sequence}`;
  else if (fuzz.idempotencyKey !== null) headers['Idempotency-Key'] = fuzz.idempotencyKey;
  if (fuzz.body?.contentType !== undefined && fuzz.body.text !== undefined)
    headers['Content-Type'] = fuzz.body.contentType;
  const url = `${world.baseUrl}${fuzz.path}${fuzz.query ? `?${fuzz.query}` : ''}`;
  sent += 1;
  const response = await fetch(url, {
    method: operation.method,
    headers,
    ...(fuzz.body?.text !== undefined ? { body: fuzz.body.text } : {}),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const contentType = response.headers.get('content-type') ?? '';
  const binary = !/json|text|html/.test(contentType) && bytes.length > 0;
  return {
    status: response.status,
    contentType,
    text: binary ? '' : bytes.toString('utf8'),
    bytes: bytes.length,
  };
}

/** On failure: fast-check's report (seed, path, counterexample, cause) and how to replay it. */
const replayReporter =
  (operation: Operation, seed: number): fc.Plugin<[FuzzRequest]> =>
  () => ({
    onAllRunsComplete: async (details) => {
      if (!details.failed) return;
      const message = await fc.asyncDefaultReportMessage(details);
      throw new Error(
        `${operation.method} ${operation.path} (seed ${seed}, path "${details.counterexamplePath}"): ${message}\n` +
          `Replay: FUZZ_SEED=${SEED} npx vitest run test/e2e/openapi-fuzz.test.ts`,
      );
    },
  });

// ---------------------------------------------------------------------------------------------------
// The seeded world.

async function seed(): Promise<World> {
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  const admin = demo.staffTokens.admin;
  const ok = async (method: string, path: string, token: string, body: unknown) => {
    const answer = await request(method, path, { token, idempotencyKey: randomUUID(), body });
    if (answer.status >= 300)
      throw new Error(`seeding ${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const issue = async () =>
    ok('POST', '/v1/cards', demo.apiKey, {
      programId: demo.programId,
      type: 'DIGITAL',
      amount: 50_000,
      activate: true,
    });
  const cards = [await issue(), await issue(), await issue()];
  const cardIds = cards.map((issued) => issued.card.id as string);
  const [first = '', second = ''] = cardIds;
  const redeemed = await ok('POST', `/v1/cards/${first}/redeem`, demo.apiKey, { amount: 700 });
  const hold = await ok('POST', `/v1/cards/${second}/holds`, demo.apiKey, {
    amount: 1_000,
    expiresInSeconds: 3600,
  });
  // Another program and merchant for the admin routes that change one (the demo pair keeps working).
  const program = await ok('POST', '/v1/programs', admin, {
    name: 'Fuzz program',
    currency: 'USD',
    minLoad: 100,
    maxLoad: 50_000,
    maxBalance: 100_000,
  });
  const merchant = await ok('POST', '/v1/merchants', admin, {
    name: 'Fuzz merchant',
    programs: [program.id],
  });
  const key = await ok('POST', `/v1/merchants/${merchant.id}/api-keys`, admin, { description: 'fuzz' });
  const webhook = await ok('POST', '/v1/webhooks', demo.apiKey, {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    events: ['card.issued', 'transaction.created'],
  });
  await issue();
  // The webhook deliveries the fuzzer reads: the poller's default 30 s is too short when the run's shared
  // DynamoDB Local is busy with the concurrency file beside this one (the whole file was skipped so).
  await stack.poller.drain(180_000);
  const deliveries = await request('GET', `/v1/webhooks/${webhook.id}/deliveries`, { token: demo.apiKey });
  const exported = await ok('POST', '/v1/exports', admin, { month: '2026-09' });
  const pass = await fetchBytes(`${stack.baseUrl}/v1/cards/${first}/wallet/apple`, {
    headers: { Authorization: `Bearer ${demo.apiKey}` },
  });
  const passJson = passJsonOf(pass.bytes);
  const deliveryIds = ((deliveries.body?.items ?? []) as { id: string }[]).map((d) => d.id);
  const device = `dev${randomBytes(8).toString('hex')}`;
  return {
    baseUrl: stack.baseUrl,
    apiKey: demo.apiKey,
    admin,
    passToken: passJson.authenticationToken as string,
    ids: {
      gc: cardIds,
      prg: [demo.programId, program.id],
      mer: [demo.merchantId, merchant.id],
      cardId: cardIds,
      serialNumber: cardIds,
      holdId: [hold.hold.id],
      transactionId: [redeemed.transaction.id],
      programId: [program.id],
      merchantId: [merchant.id],
      keyId: [key.id],
      webhookId: [webhook.id],
      wh: [webhook.id],
      deliveryId: deliveryIds,
      exportId: [exported.id],
      passTypeIdentifier: [passJson.passTypeIdentifier],
      deviceLibraryIdentifier: [device],
      'prefix:cardId': ['gc'],
      'prefix:serialNumber': ['gc'],
      'prefix:holdId': ['hold'],
      'prefix:programId': ['prg'],
      'prefix:merchantId': ['mer'],
      'prefix:keyId': ['key'],
      'prefix:webhookId': ['wh'],
      'prefix:deliveryId': ['whd'],
      'prefix:alertId': ['fa'],
      'prefix:exportId': ['exp'],
      'prefix:transactionId': ['tx'],
    },
  };
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  // Only the consumers whose records the fuzzer reads (webhook deliveries, audit); the rest would only
  // load DynamoDB Local under 3,000 requests.
  stack = await startTestStack({
    consumers: STREAM_CONSUMERS.filter((consumer) => ['webhooks', 'audit'].includes(consumer.name)),
  });
  world = await seed();
  // The stack and the seed (a program, merchants, cards in every state, exports) take well over the
  // default two minutes when the machine runs the long e2e files beside this one.
}, 300_000);
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  for (const name of Object.keys(raisedLimits)) delete process.env[name];
});

describe('the API under a fuzzer driven by its OpenAPI document', () => {
  it('documents every route of the route table', () => {
    expect(OPERATIONS.length).toBe(ROUTES.length);
  });

  OPERATIONS.forEach((operation, index) => {
    it(`${operation.method} ${operation.path}: no 5xx, no success without credentials, problems and successes as documented`, async () => {
      const seed = SEED + index;
      const before = sent;
      await fc.assert(
        fc.asyncProperty(requestOf(world.ids, operation), async (fuzz) => {
          const principals = principalsOf(operation);
          const answers = await Promise.all(principals.map((principal) => send(operation, fuzz, principal)));
          const problems = principals.flatMap((principal, i) => {
            const answer = answers[i] as Answer;
            count(operation, principal, answer.status);
            return judge(operation, principal, answer).map(
              (problem) =>
                `${principal}: ${operation.method} ${fuzz.path}${fuzz.query ? `?${fuzz.query.slice(0, 300)}` : ''} -> ${problem}`,
            );
          });
          if (problems.length > 0) throw new Error(problems.join('\n'));
        }),
        {
          seed,
          numRuns: RUNS_PER_OPERATION,
          endOnFailure: true,
          includeErrorInReport: true,
          plugins: [replayReporter(operation, seed)],
        },
      );
      expect(sent - before).toBe(RUNS_PER_OPERATION * principalsOf(operation).length);
    });
  });

  it('sent about 3,000 requests in all', () => {
    if (process.env.FUZZ_STATS) {
      for (const [key, byStatus] of statuses) console.info(key, Object.fromEntries(byStatus));
    }
    expect(sent).toBeGreaterThanOrEqual(OPERATIONS.length * RUNS_PER_OPERATION * 3);
  });
});
