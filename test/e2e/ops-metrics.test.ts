import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * The metrics the dashboard and the alarms read, emitted by the real handlers and consumers through the
 * local stack (embedded metric format, written to the stack's metrics file instead of stdout): traffic and
 * latency per route group, a decline by its reason, a redemption and its value by currency.
 */
let stack: LocalStack;
let apiKey: string;
let programId: string;

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId } = demo);
});
afterAll(async () => stack.stop());

interface EmfLine {
  readonly _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
  readonly [key: string]: unknown;
}

const emitted = (): EmfLine[] =>
  readFileSync(stack.metricsFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EmfLine);

const withMetric = (name: string) =>
  emitted().filter((line) => line._aws.CloudWatchMetrics[0]?.Metrics.some((metric) => metric.Name === name));

describe('business and technical metrics under npm start', () => {
  it('counts requests, latency, a decline by reason and a redemption with its value by currency', async () => {
    const issued = await request('POST', '/v1/cards', {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { programId, type: 'DIGITAL', amount: 2500, activate: true },
    });
    expect(issued.status).toBe(201);
    const cardId = issued.body.card.id as string;
    const redeem = (amount: number) =>
      request('POST', `/v1/cards/${cardId}/redeem`, {
        token: apiKey,
        idempotencyKey: randomUUID(),
        body: { amount, channel: 'POS', locationId: 'store-1' },
      });
    expect((await redeem(1000)).status).toBe(200);
    const declined = await redeem(100_000);
    expect(declined.body.code).toBe('INSUFFICIENT_FUNDS');
    await stack.poller.drain();

    const requests = withMetric('ApiRequests');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const line of requests) {
      expect(line._aws.CloudWatchMetrics[0]?.Namespace).toBe('GiftCard/local');
      expect(typeof line.ApiLatency).not.toBe('undefined');
    }
    const declines = withMetric('Declines');
    expect(declines.map((line) => line.reason)).toContain('INSUFFICIENT_FUNDS');
    expect(declines[0]?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(['service', 'reason']);

    const redemptions = withMetric('Redemptions').filter((line) => line.currency === 'USD');
    expect(redemptions.reduce((sum, line) => sum + Number(line.Redemptions), 0)).toBe(1);
    expect(redemptions.reduce((sum, line) => sum + Number(line.RedeemedValueMinor), 0)).toBe(1000);
  });
});
