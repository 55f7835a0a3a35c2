import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A near-free SDK middleware that counts DynamoDB round trips and their time (from the build step to the
 * deserialized answer: signing, HTTP, parsing), so a request can be attributed: how many calls, how long.
 */
export interface RoundTripCounter {
  count: number;
  ms: number;
  readonly byCommand: Record<string, number>;
  /** Copy of the counters, to diff around one operation. */
  mark(): { count: number; ms: number };
}

type Handler = (args: unknown) => Promise<unknown>;

export function countRoundTrips(client: DynamoDBClient | DynamoDBDocumentClient): RoundTripCounter {
  const counter: RoundTripCounter = {
    count: 0,
    ms: 0,
    byCommand: {},
    mark: () => ({ count: counter.count, ms: counter.ms }),
  };
  const stack = client.middlewareStack as unknown as {
    add(middleware: unknown, options: Record<string, unknown>): void;
  };
  stack.add(
    (next: Handler, context: { commandName?: string }) => async (args: unknown) => {
      const started = process.hrtime.bigint();
      try {
        return await next(args);
      } finally {
        counter.ms += Number(process.hrtime.bigint() - started) / 1e6;
        counter.count += 1;
        const name = context.commandName ?? 'unknown';
        counter.byCommand[name] = (counter.byCommand[name] ?? 0) + 1;
      }
    },
    { step: 'build', name: 'benchRoundTripCounter', priority: 'low' },
  );
  return counter;
}
