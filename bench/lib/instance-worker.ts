/**
 * One "Lambda instance" for the contention benchmark: its own process, its own module state (no shared
 * single-flight queue, caches or SDK client), serving one request at a time by calling the cards handler
 * with API Gateway events, as a Lambda execution environment does. The environment comes from the parent.
 */
import { randomUUID } from 'node:crypto';
import { db } from '../../functions/store/dynamo-client';
import { apiEvent, benchContext } from './local';

export interface InstanceJob {
  readonly cardId: string;
  readonly token: string;
  readonly count: number;
  readonly amount: number;
}

export interface InstanceAnswer {
  readonly results: { status: number; code?: string; ms: number }[];
  readonly transactAttempts: number;
  readonly transactCancelled: number;
  readonly reads: number;
  readonly cpuMs: number;
}

const { handler } = await import('../../functions/api/cards');
const context = benchContext('giftcard-cards');
let transactAttempts = 0;
let transactCancelled = 0;
let reads = 0;
(db().middlewareStack as unknown as { add(m: unknown, o: Record<string, unknown>): void }).add(
  (next: (args: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
    if (ctx.commandName === 'TransactWriteItemsCommand') transactAttempts += 1;
    if (ctx.commandName === 'GetItemCommand') reads += 1;
    try {
      return await next(args);
    } catch (error) {
      if ((error as { name?: string }).name === 'TransactionCanceledException') transactCancelled += 1;
      throw error;
    }
  },
  { step: 'initialize', name: 'benchInstanceCounter' },
);

let job: InstanceJob | undefined;
process.on('message', async (message: { kind: 'job'; job: InstanceJob } | { kind: 'go' }) => {
  if (message.kind === 'job') {
    job = message.job;
    // Warm: imports done, auth cached, SDK connection open, like a warm Lambda instance.
    await handler(apiEvent('GET', `/v1/cards/${job.cardId}`, { token: job.token }), context);
    transactAttempts = 0;
    transactCancelled = 0;
    reads = 0;
    process.send?.({ kind: 'ready' });
    return;
  }
  if (!job) return;
  const cpu = process.cpuUsage();
  const results: InstanceAnswer['results'] = [];
  for (let i = 0; i < job.count; i++) {
    const event = apiEvent('POST', `/v1/cards/${job.cardId}/redeem`, {
      token: job.token,
      body: { amount: job.amount, channel: 'POS' },
      idempotencyKey: randomUUID(),
    });
    const started = process.hrtime.bigint();
    const result = await handler(event, context);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const code = result.statusCode === 200 ? undefined : (JSON.parse(result.body) as { code?: string }).code;
    results.push({ status: result.statusCode, ms, ...(code ? { code } : {}) });
  }
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const answer: InstanceAnswer = { results, transactAttempts, transactCancelled, reads, cpuMs };
  process.send?.({ kind: 'done', answer }, () => process.exit(0));
});
process.send?.({ kind: 'loaded' });
