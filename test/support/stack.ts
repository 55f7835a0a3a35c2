import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { consoleLog, silentLog } from '../../local/log';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { testDynamoDbEndpoint } from './dynamodb';
import { useBaseUrl } from './http';
import { provideRunKeyMaterial } from './key-material';
import { resetHandlerState } from './reset';

/**
 * Stream consumers of a test stack unless the test names its own: all but the fraud rules, which block
 * cards that see bursts of redemptions and so would race tests that hammer one card on purpose. Fraud
 * tests pass `consumers: STREAM_CONSUMERS`.
 */
const DEFAULT_CONSUMERS = STREAM_CONSUMERS.filter((consumer) => consumer.name !== 'fraud');

/**
 * The whole local runtime for end-to-end tests: the run's DynamoDB Local with a table of its own, s3rver
 * and the HTTP server on free ports, the stream poller, and the demo seed (`stack.demo`: api key, staff
 * tokens, program and merchant ids), with the run's key material (test/support/key-material.ts). Sets
 * the default base URL of test/support/http.ts. The handlers read process.env, so one stack per test
 * file (vitest runs files in separate processes). The local
 * runtime's own log (handler errors behind a 500, authorizer failures, stream retries) is silent unless
 * E2E_LOG is set: `E2E_LOG=1 npx vitest run test/e2e/...`.
 */
export async function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'giftcard-e2e-'));
  let stack: LocalStack;
  try {
    const apnsTls = await provideRunKeyMaterial(dataDir);
    stack = await startLocalStack({
      dataDir,
      dynamodbEndpoint: testDynamoDbEndpoint(),
      tableName: `e2e-${randomUUID()}`,
      port: 0,
      s3Port: 0,
      inMemory: true,
      logLevel: process.env.LOG_LEVEL ?? 'ERROR',
      log: process.env.E2E_LOG ? consoleLog('[stack] ') : silentLog,
      requestLog: silentLog,
      pollIntervalMs: 100,
      // Failed batches are retried after 20, 40, 80, 160, 200 ms instead of 0.2 to 5 s (6.2 s before a
      // record reaches its DLQ): the tests count the attempts and wait on them with poller.drain.
      streamRetryDelaysMs: { first: 20, max: 200 },
      // Jobs run when a test says so (stack.scheduler.runNow): a timer's sweep would race cases that put
      // cards past their expiry or webhook deliveries past their retry time on purpose.
      scheduleTimers: false,
      // Handlers warmed by an earlier stack or testEnv in this process start cold again.
      onEnvironment: resetHandlerState,
      consumers: DEFAULT_CONSUMERS,
      // Messages are recorded by the SES stand-in (stack.ses.messages); a test that reads them where a
      // person would, in the mail catcher, asks for one: `mailCatcher: { smtpPort: 0, webPort: 0 }`.
      mailCatcher: false,
      // Every staff user shares the staff plan (50/s, burst 100); a test walking all routes as staff
      // sends more than that when the machine is fast. test/e2e/usage-plans.test.ts tests the plans.
      usagePlans: { staff: { rateLimit: 10_000, burstLimit: 10_000 } },
      // The run's Apple certificates, push credentials (copied into dataDir) and APNs TLS certificate.
      apnsTls,
      ...options,
    });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  useBaseUrl(stack.baseUrl);
  return {
    ...stack,
    stop: async () => {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
