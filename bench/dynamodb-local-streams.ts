/**
 * Why every test file gets its own DynamoDB Local (test/support/dynamodb-pool.ts): DynamoDB Local keeps
 * every stream record of every table it has had, and writes to a stream-enabled table slow with that
 * total, even after the tables are deleted. This writes BENCH_STREAM_PUTS (2,000) items into each of
 * BENCH_STREAM_TABLES (6) new tables on one instance, one table after another, three ways: tables with
 * the stream (as the product's table and the tests have), the same with each table deleted after its
 * writes, and without the stream. It prints the seconds per table and the last table's time as a ratio
 * of the first. Also the time to start an instance with default JVM options and with the pool's.
 *
 *   npx tsx bench/dynamodb-local-streams.ts
 */
import { CreateTableCommand, DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../functions/store/table-definition';
import { dynamoDbClient, startDynamoDbLocal } from '../local/dynamodb';
import { POOL_JVM_OPTIONS } from '../test/support/dynamodb-pool';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const PUTS = Number(process.env.BENCH_STREAM_PUTS ?? 2_000);
const TABLES = Number(process.env.BENCH_STREAM_TABLES ?? 6);
const CONCURRENCY = 16;

type Mode = 'stream' | 'stream, tables deleted' | 'no stream';

async function putMany(client: ReturnType<typeof dynamoDbClient>, tableName: string): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PUTS) {
        const n = next++;
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { PK: { S: `BENCH#${n}` }, SK: { S: 'ITEM' }, payload: { S: 'x'.repeat(200) } },
          }),
        );
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function run(mode: Mode): Promise<number[]> {
  const dynamodb = await startDynamoDbLocal({ port: 0, jvmOptions: POOL_JVM_OPTIONS.long });
  const client = dynamoDbClient(dynamodb.endpoint);
  const seconds: number[] = [];
  try {
    for (let table = 0; table < TABLES; table++) {
      const tableName = `bench-${table}`;
      const { StreamSpecification, ...withoutStream } = createTableInput(tableName);
      const input = mode === 'no stream' ? withoutStream : { ...withoutStream, StreamSpecification };
      await client.send(new CreateTableCommand(input));
      seconds.push(await putMany(client, tableName));
      if (mode === 'stream, tables deleted')
        await client.send(new DeleteTableCommand({ TableName: tableName }));
    }
  } finally {
    client.destroy();
    await dynamodb.stop();
  }
  return seconds;
}

async function startSeconds(jvmOptions?: string): Promise<number> {
  const started = performance.now();
  const dynamodb = await startDynamoDbLocal({ port: 0, jvmOptions });
  const seconds = (performance.now() - started) / 1000;
  await dynamodb.stop();
  return seconds;
}

console.log(
  `${PUTS} puts (${CONCURRENCY} in flight) into each of ${TABLES} new tables on one DynamoDB Local`,
);
for (const mode of ['stream', 'stream, tables deleted', 'no stream'] as const) {
  const seconds = await run(mode);
  const first = seconds[0] ?? 0;
  const last = seconds.at(-1) ?? 0;
  console.log(
    `${mode.padEnd(24)} ${seconds.map((s) => s.toFixed(1).padStart(5)).join(' ')} s   last/first ${(last / first).toFixed(2)}x`,
  );
}
const defaults: number[] = [];
const long: number[] = [];
const short: number[] = [];
for (let i = 0; i < 3; i++) {
  defaults.push(await startSeconds());
  long.push(await startSeconds(POOL_JVM_OPTIONS.long));
  short.push(await startSeconds(POOL_JVM_OPTIONS.short));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] ?? 0;
console.log(
  `start, median of 3: default JVM ${median(defaults).toFixed(2)} s, long file (${POOL_JVM_OPTIONS.long}) ${median(long).toFixed(2)} s, short file (${POOL_JVM_OPTIONS.short}) ${median(short).toFixed(2)} s`,
);
