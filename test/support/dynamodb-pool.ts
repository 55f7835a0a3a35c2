import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb';

/**
 * A fresh DynamoDB Local for every test file, leased from the main vitest process.
 *
 * Why not one for the whole run: DynamoDB Local keeps every stream record of every table it ever had
 * (deleting the table does not drop them), and each write to a stream-enabled table slows with that
 * total. Measured on the 2-core machine (bench/dynamodb-local-streams.ts): 2,000 puts into a new table
 * take 5.0 s on a fresh instance and 14.7 s after five other tables took 2,000 each (without the stream:
 * 3.8 s, then 2.7 s); the full suite on one instance took 84 minutes in CI, most files 2-3x their time
 * alone, and failed on timeouts.
 *
 * The pool keeps `spares` instances started ahead, so a file rarely waits for java. A file's instance is
 * stopped when the file releases it, unless the files that held it were all short (LIGHT_MS): then it
 * serves the next file. Every instance still running is stopped at teardown (a file killed by a timeout
 * never releases).
 */
export interface DynamoDbPool {
  /**
   * Base URL of the lease service: POST /lease (a short file) or /lease?kind=long answers {id, endpoint};
   * POST /release/<id> stops it or keeps it for the next short file.
   */
  readonly url: string;
  /** How many instances of each kind were started, and how many leases were served. */
  counts(): { started: Record<LeaseKind, number>; leases: number };
  stop(): Promise<void>;
}

/**
 * The serial collector: no GC threads competing for the two cores. A short file's instance runs with the
 * client compiler only (-XX:TieredStopAtLevel=1): most of a JVM start's CPU is the optimising compiler
 * at work (a start to the first answer took 5.2 to 6.3 s of CPU with it, 2.3 to 3.0 s without, on the
 * 2-core machine under load), and a short file ends before that work pays off. A long file
 * (test/support/long-files.ts) gets the full compiler: without it the 10,000-row bulk file took 144 s
 * instead of 99 s. TEST_DYNAMODB_JVM_OPTIONS replaces both for a run.
 */
export const POOL_JVM_OPTIONS = {
  long: '-XX:+UseSerialGC -Xmx1g',
  short: '-XX:+UseSerialGC -Xmx1g -XX:TieredStopAtLevel=1',
};

/** A file's kind: a long file's instance is started for it and stopped after it, never shared. */
export type LeaseKind = keyof typeof POOL_JVM_OPTIONS;

/**
 * An instance whose files held it for less than this in total serves the next file too (up to
 * MAX_USES files): a short file writes few stream records, and a JVM start costs seconds of CPU that
 * the two cores would rather spend on tests. A file that held it longer had it to itself; it is stopped.
 */
const LIGHT_MS = 15_000;
const MAX_USES = 6;

export async function startDynamoDbPool(options: { spares: number }): Promise<DynamoDbPool> {
  const leased = new Map<string, { instance: DynamoDbLocal; kind: LeaseKind; since: number }>();
  const usage = new WeakMap<DynamoDbLocal, { uses: number; heldMs: number }>();
  const warm: Promise<DynamoDbLocal>[] = [];
  let stopping = false;
  let next = 0;
  const startedOfKind: Record<LeaseKind, number> = { long: 0, short: 0 };

  const start = (kind: LeaseKind): Promise<DynamoDbLocal> => {
    startedOfKind[kind] += 1;
    const jvmOptions = process.env.TEST_DYNAMODB_JVM_OPTIONS ?? POOL_JVM_OPTIONS[kind];
    // The free port found is free until java binds it: a test's server taking it meanwhile fails the
    // start ("Failed to bind"), seen once in a full run. Another port, up to three times.
    const attempt = (left: number): Promise<DynamoDbLocal> =>
      startDynamoDbLocal({ port: 0, jvmOptions, startTimeoutMs: 180_000 }).catch((error: Error) => {
        if (left <= 1 || stopping) throw error;
        return attempt(left - 1);
      });
    const started = attempt(3);
    // A start that fails is reported to the file that takes it; never an unhandled rejection meanwhile.
    started.catch(() => undefined);
    return started;
  };
  const refill = () => {
    while (!stopping && warm.length < options.spares) warm.push(start('short'));
  };

  const lease = async (kind: LeaseKind): Promise<{ id: string; endpoint: string }> => {
    // The spares are for short files; a long file's start overlaps the other worker's file.
    const taken = kind === 'long' ? start('long') : (warm.shift() ?? start('short'));
    refill();
    const instance = await taken;
    const id = String(++next);
    leased.set(id, { instance, kind, since: Date.now() });
    return { id, endpoint: instance.endpoint };
  };
  const release = async (id: string, reuse: boolean): Promise<void> => {
    const held = leased.get(id);
    leased.delete(id);
    if (!held) return;
    const used = usage.get(held.instance) ?? { uses: 0, heldMs: 0 };
    used.uses += 1;
    used.heldMs += Date.now() - held.since;
    usage.set(held.instance, used);
    if (reuse && held.kind === 'short' && !stopping && used.heldMs < LIGHT_MS && used.uses < MAX_USES) {
      warm.unshift(Promise.resolve(held.instance));
      return;
    }
    await held.instance.stop();
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const answer = (status: number, body: unknown) => {
      // One request per connection: a kept-alive socket that the server closes after its idle timeout,
      // just as a file reuses it to release, fails that release with "other side closed".
      response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify(body));
    };
    request.resume();
    const released = /^\/release\/(\d+)(\?reuse=0)?$/.exec(request.url ?? '');
    const leasing = /^\/lease(\?kind=long)?$/.exec(request.url ?? '');
    if (request.method === 'POST' && leasing) {
      lease(leasing[1] ? 'long' : 'short').then(
        (body) => answer(200, body),
        (error: Error) => answer(500, { error: error.message }),
      );
    } else if (request.method === 'POST' && released?.[1]) {
      release(released[1], !released[2]).then(
        () => answer(200, {}),
        (error: Error) => answer(500, { error: error.message }),
      );
    } else {
      answer(404, { error: 'not found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  refill();
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ started: { ...startedOfKind }, leases: next }),
    stop: async () => {
      stopping = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const spares = await Promise.allSettled(warm.splice(0));
      await Promise.all([
        ...[...leased.values()].map((held) => held.instance.stop()),
        ...spares.flatMap((spare) => (spare.status === 'fulfilled' ? [spare.value.stop()] : [])),
      ]);
      leased.clear();
    },
  };
}

/**
 * The worker side: leases an instance for the calling test file. `release({ reuse: false })` stops it
 * whatever its use; else a lightly used one may serve another file (LIGHT_MS).
 */
export async function leaseDynamoDb(
  poolUrl: string,
  kind: LeaseKind = 'short',
): Promise<{ endpoint: string; release(options?: { reuse?: boolean }): Promise<void> }> {
  const response = await fetch(`${poolUrl}/lease${kind === 'long' ? '?kind=long' : ''}`, { method: 'POST' });
  const body = (await response.json()) as { id?: string; endpoint?: string; error?: string };
  if (!response.ok || !body.id || !body.endpoint) {
    throw new Error(`No DynamoDB Local for this test file: ${body.error ?? response.status}`);
  }
  const { id, endpoint } = body;
  return {
    endpoint,
    // A release that fails is no failure of the file: the pool stops every instance at teardown.
    release: async ({ reuse = true } = {}) => {
      try {
        const url = `${poolUrl}/release/${id}${reuse ? '' : '?reuse=0'}`;
        await fetch(url, { method: 'POST' }).then((answer) => answer.arrayBuffer());
      } catch (error) {
        console.warn(`DynamoDB Local ${endpoint} is stopped at the end of the run: ${String(error)}`);
      }
    },
  };
}
