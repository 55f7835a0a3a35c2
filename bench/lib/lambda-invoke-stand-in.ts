import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunnerEnd, RunnerSample } from './bulk-runner-invocation';

/** One runner invocation as the bench saw it: its samples and how it ended. */
export interface Invocation {
  readonly number: number;
  readonly samples: RunnerSample[];
  end?: RunnerEnd;
}

export interface LambdaInvokeStandIn {
  /** For AWS_ENDPOINT_URL_LAMBDA: the SDK's LambdaClient sends its Invoke here. */
  readonly url: string;
  readonly invocations: Invocation[];
  /** Resolves when no invocation is running (one that ends may have invoked the next first). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/[^/]+\/invocations$/;
const INVOCATION_SCRIPT = join(import.meta.dirname, 'bulk-runner-invocation.ts');

/**
 * The Lambda Invoke API for asynchronous invocations (`InvocationType: Event`), just enough for the bulk
 * runner: answers 202 and runs the event in a new process (bulk-runner-invocation.ts) with this process's
 * environment, which is the local stack's handler environment. A function name is not checked: the bench
 * sets only the bulk runner's.
 */
export async function startLambdaInvokeStandIn(): Promise<LambdaInvokeStandIn> {
  const invocations: Invocation[] = [];
  const running = new Set<ChildProcess>();
  let idleWaiters: (() => void)[] = [];
  const settle = () => {
    if (running.size > 0) return;
    for (const wake of idleWaiters) wake();
    idleWaiters = [];
  };
  const invoke = (payload: string) => {
    const invocation: Invocation = { number: invocations.length + 1, samples: [] };
    invocations.push(invocation);
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', INVOCATION_SCRIPT, payload], {
      env: process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    child.on('message', (message: RunnerSample | RunnerEnd) => {
      if (message.kind === 'sample') invocation.samples.push(message);
      else invocation.end = message;
    });
    child.on('exit', () => {
      running.delete(child);
      settle();
    });
  };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      if (request.method !== 'POST' || !INVOKE_PATH.test(request.url?.split('?')[0] ?? '')) {
        response.writeHead(404).end();
        return;
      }
      invoke(body);
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settle();
      }),
    close: async () => {
      for (const child of running) child.kill();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
