import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { toApiGatewayEvent } from '../../local/api-gateway-event';
import { lambdaContext } from '../../local/handlers';
import { silentLog } from '../../local/log';
import { createRouteMatcher } from '../../local/route-matcher';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import type { JsonClient } from './http-client';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * Benchmarks that send failed lookups or PIN checks (the timing oracle) send far more than a till would:
 * the failed-check limits are raised so requests are measured rather than refused (reading and writing
 * the counts still costs what it costs). Successes are never limited.
 */
export const BENCH_CHECK_LIMITS = {
  FAILED_CHECKS_LIMIT_PER_CALLER: '100000',
  FAILED_CHECKS_LIMIT_PER_MERCHANT: '100000',
} as const;
for (const [name, value] of Object.entries(BENCH_CHECK_LIMITS)) process.env[name] ??= value;

/** Likewise the usage plans of the local gateway: benchmarks measure, they are not a merchant to throttle. */
export const BENCH_USAGE_PLANS = {
  standard: { rateLimit: 1_000_000, burstLimit: 1_000_000, dailyQuota: 1_000_000_000 },
  'high-volume': { rateLimit: 1_000_000, burstLimit: 1_000_000, dailyQuota: 1_000_000_000 },
  staff: { rateLimit: 1_000_000, burstLimit: 1_000_000, dailyQuota: 1_000_000_000 },
} as const;

export interface BenchStack extends LocalStack {
  readonly apiKey: string;
  readonly programId: string;
  readonly merchantId: string;
  readonly staffTokens: Record<string, string>;
}

/**
 * The whole local runtime (DynamoDB Local in memory, s3rver, HTTP API, stream poller, mail catcher, demo seed) on free
 * ports in a throw-away directory, with the runtime's own logging silenced.
 */
export async function startBenchStack(options: LocalStackOptions = {}): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'giftcard-bench-'));
  const stack = await startLocalStack({
    port: 0,
    dynamoPort: 0,
    s3Port: 0,
    inMemory: true,
    dataDir,
    logLevel: 'ERROR',
    log: silentLog,
    requestLog: silentLog,
    usagePlans: BENCH_USAGE_PLANS,
    // Free ports: another stack (a test run, `npm start`) may hold the default 1025 and 1080.
    mailCatcher: { smtpPort: 0, webPort: 0 },
    ...options,
  });
  if (!stack.demo) throw new Error('the local stack did not seed its demo data');
  const { demo } = stack;
  return {
    ...stack,
    apiKey: demo.apiKey,
    programId: demo.programId,
    merchantId: demo.merchantId,
    staffTokens: demo.staffTokens,
    stop: async () => {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface IssuedCard {
  readonly id: string;
  readonly code: string;
  readonly balance: number;
}

/** Issues and activates a card through the public API, as a till selling a gift card would. */
export async function issueCard(
  client: JsonClient,
  stack: Pick<BenchStack, 'apiKey' | 'programId'>,
  amount: number,
): Promise<IssuedCard> {
  const answer = await client.call('POST', '/v1/cards', {
    token: stack.apiKey,
    body: { programId: stack.programId, type: 'DIGITAL', amount, activate: true, channel: 'POS' },
  });
  if (answer.status !== 201)
    throw new Error(`issuing a card answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return { id: answer.body.card.id, code: answer.body.code, balance: answer.body.card.balance };
}

const matcher = createRouteMatcher();

/** The API Gateway proxy event the local server would build for this request (for in-process calls). */
export function apiEvent(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; idempotencyKey?: string } = {},
): APIGatewayProxyEvent {
  const matched = matcher(method, path.split('?')[0] ?? path);
  if (matched.kind !== 'found') throw new Error(`no route for ${method} ${path}`);
  const rawHeaders: string[] = ['Host', '127.0.0.1:3000', 'User-Agent', 'giftcard-bench'];
  if (options.token) rawHeaders.push('Authorization', `Bearer ${options.token}`);
  if (options.idempotencyKey) rawHeaders.push('Idempotency-Key', options.idempotencyKey);
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(options.body));
  if (options.body !== undefined) rawHeaders.push('Content-Type', 'application/json');
  return toApiGatewayEvent(
    {
      method,
      url: path,
      rawHeaders,
      body,
      sourceIp: '127.0.0.1',
      host: '127.0.0.1:3000',
      port: 3000,
    },
    { resource: matched.route.path, pathParameters: matched.pathParameters },
  );
}

/**
 * A Lambda context for many in-process calls: the remaining time stays at the function's timeout (a real
 * invocation gets a fresh context each time; middy arms its early-timeout timer from this value).
 */
export function benchContext(functionName: string, timeoutMs = 10_000): Context {
  return { ...lambdaContext(functionName, timeoutMs), getRemainingTimeInMillis: () => timeoutMs };
}
