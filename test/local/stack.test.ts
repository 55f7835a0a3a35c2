import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../local/dynamodb';
import { importStreamHandler } from '../../local/handlers';
import { silentLog } from '../../local/log';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { testDynamoDbEndpoint } from '../support/dynamodb';
import { request } from '../support/http';
import { resetHandlerState } from '../support/reset';
import { startTestStack } from '../support/stack';

/** The whole runtime on the real handlers (functions/api, functions/streams), as `npm start` runs it. */
describe('the local stack', () => {
  let stack: LocalStack;
  /** Sort keys of the records the real ledger-integrity consumer was given. */
  const delivered: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      loadStreamHandler: async (module) => {
        const handler = await importStreamHandler(module);
        return async (event, context) => {
          if (module === 'ledger-integrity') {
            delivered.push(...event.Records.map((record) => record.dynamodb?.Keys?.SK?.S ?? ''));
          }
          return handler(event, context);
        };
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers /health', async () => {
    const health = await request('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
  });

  it('seeded the demo through the API and wrote demo.json', async () => {
    const demo = stack.demo;
    expect(demo).toBeDefined();
    expect(JSON.parse(readFileSync(stack.demoFile, 'utf8'))).toEqual(demo);
    expect(demo?.baseUrl).toBe(stack.baseUrl);
    for (const role of ['admin', 'support', 'finance', 'ops'] as const) {
      expect(decodeJwt(demo?.staffTokens[role] ?? '')['cognito:groups']).toEqual([role]);
    }
    const program = await request('GET', `/v1/programs/${demo?.programId}`, {
      token: demo?.staffTokens.finance,
    });
    expect(program.status).toBe(200);
    expect(program.body).toMatchObject({ name: 'Demo Gift Card', currency: 'USD' });
    const merchant = await request('GET', `/v1/merchants/${demo?.merchantId}`, {
      token: demo?.staffTokens.ops,
    });
    expect(merchant.status).toBe(200);
  });

  it('lets the demo API key issue and redeem a card; the stream consumers take every ledger entry', async () => {
    const demo = stack.demo;
    const issued = await request('POST', '/v1/cards', {
      token: demo?.apiKey,
      idempotencyKey: randomUUID(),
      body: { programId: demo?.programId, type: 'DIGITAL', amount: 2500, activate: true },
    });
    expect(issued.status).toBe(201);
    const cardId = issued.body.card.id as string;
    const redeemed = await request('POST', `/v1/cards/${cardId}/redeem`, {
      token: demo?.apiKey,
      idempotencyKey: randomUUID(),
      body: { amount: 1000 },
    });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.card.balance).toBe(1500);

    await stack.poller.drain();
    // ISSUE, ACTIVATE and REDEEM entries, each once, and nothing else (the registry filter: TX# inserts).
    expect(delivered.filter((sk) => sk.startsWith('TX#'))).toHaveLength(delivered.length);
    expect(delivered.length).toBeGreaterThanOrEqual(3);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(existsSync(join(stack.dataDir, 'dlq'))).toBe(false);
  });
});

describe('a restart on kept data', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'giftcard-restart-'));
  const tableName = `restart-${randomUUID()}`;
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const start = () =>
    startLocalStack({
      dataDir,
      tableName,
      dynamodbEndpoint: testDynamoDbEndpoint(),
      port: 0,
      s3Port: 0,
      logLevel: 'ERROR',
      log: silentLog,
      requestLog: silentLog,
      onEnvironment: resetHandlerState,
    });

  it('reuses demo.json with new staff tokens; --fresh seeds again', async () => {
    const first = await start();
    await first.stop();
    const second = await start();
    await second.stop();
    expect(first.demoSeeded).toBe(true);
    expect(second.demoSeeded).toBe(false);
    expect(second.demo?.programId).toBe(first.demo?.programId);
    expect(second.demo?.apiKey).toBe(first.demo?.apiKey);
    expect(second.demo?.staffTokens.admin).not.toBe(first.demo?.staffTokens.admin);

    const fresh = await startLocalStack({
      dataDir,
      tableName: `${tableName}-fresh`,
      dynamodbEndpoint: testDynamoDbEndpoint(),
      port: 0,
      s3Port: 0,
      fresh: true,
      log: silentLog,
      requestLog: silentLog,
      onEnvironment: resetHandlerState,
    });
    await fresh.stop();
    expect(fresh.demoSeeded).toBe(true);
    expect(fresh.demo?.programId).not.toBe(first.demo?.programId);

    const client = dynamoDbClient(testDynamoDbEndpoint());
    const items = await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));
    client.destroy();
    expect(items.Count).toBeGreaterThan(0);
  });
});
