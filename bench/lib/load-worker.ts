/**
 * A load generator in its own process (so its CPU does not share the server's event loop): receives a
 * list of requests over IPC, sends them with at most `concurrency` in flight on keep-alive connections,
 * and answers with each request's status, error code and latency. Started by bench/lib/load.ts.
 */
import { jsonClient } from './http-client';

export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly token: string;
  readonly body?: unknown;
  /** false: no Idempotency-Key header; absent: a fresh one for bodies. */
  readonly idempotencyKey?: string | false;
}

export interface LoadResult {
  readonly status: number;
  readonly ms: number;
  readonly code?: string;
  readonly cardId?: string;
  readonly cardCode?: string;
  readonly balance?: number;
}

export interface LoadJob {
  readonly baseUrl: string;
  readonly concurrency: number;
  readonly requests: readonly LoadRequest[];
}

export interface LoadAnswer {
  readonly results: LoadResult[];
  readonly elapsedMs: number;
  /** CPU time this client process spent during the run. */
  readonly cpuMs: number;
}

async function run(job: LoadJob): Promise<LoadAnswer> {
  const client = jsonClient(job.baseUrl, job.concurrency);
  const results: LoadResult[] = new Array(job.requests.length);
  let next = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const lane = async () => {
    for (;;) {
      const index = next++;
      const request = job.requests[index];
      if (!request) return;
      const t0 = process.hrtime.bigint();
      try {
        const answer = await client.call(request.method, request.path, {
          token: request.token,
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
        });
        const body = answer.body ?? {};
        results[index] = {
          status: answer.status,
          ms: Number(process.hrtime.bigint() - t0) / 1e6,
          ...(typeof body.code === 'string' && answer.status >= 400 ? { code: body.code } : {}),
          ...(body.card?.id ? { cardId: body.card.id, balance: body.card.balance } : {}),
          ...(typeof body.code === 'string' && answer.status === 201 ? { cardCode: body.code } : {}),
        };
      } catch (error) {
        results[index] = {
          status: 0,
          ms: Number(process.hrtime.bigint() - t0) / 1e6,
          code: (error as Error).message.slice(0, 80),
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, lane));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  client.close();
  return { results, elapsedMs, cpuMs: (used.user + used.system) / 1000 };
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (answer) => process.send?.(answer, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`load worker failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
