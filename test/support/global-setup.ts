import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDynamoDbPool } from './dynamodb-pool';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The lease service of test/support/dynamodb-pool.ts; empty when DYNAMODB_ENDPOINT was given. */
    dynamodbPool: string;
    testRunDir: string;
  }
}

/**
 * Starts the pool that gives every test file its own in-memory DynamoDB Local (see dynamodb-pool.ts for
 * why) and hands its address to the workers as TEST_DYNAMODB_POOL (forked workers inherit the main
 * process's environment as it is after global setup) and through `inject('dynamodbPool')`;
 * test/support/dynamodb-per-file.ts leases one before a file runs.
 * With DYNAMODB_ENDPOINT already set (a DynamoDB Local started by hand, say), every file shares that one.
 * Also makes the run's directory of shared test files (see createRunDir).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Node 20 runs the tests; the AWS SDK's notice about Node 22 would only clutter the output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const runDir = createRunDir(project);
  if (process.env.DYNAMODB_ENDPOINT) {
    project.provide('dynamodbPool', '');
    return async () => removeRunDir(runDir);
  }
  // Two workers, each wanting a new instance per file: two started ahead.
  const pool = await startDynamoDbPool({ spares: Number(process.env.TEST_DYNAMODB_SPARES ?? 2) });
  process.env.TEST_DYNAMODB_POOL = pool.url;
  project.provide('dynamodbPool', pool.url);
  return async () => {
    delete process.env.TEST_DYNAMODB_POOL;
    const { started, leases } = pool.counts();
    console.log(
      `DynamoDB Local: ${leases} test files served by ${started.short} short-file and ${started.long} long-file instances`,
    );
    await pool.stop();
    removeRunDir(runDir);
  };
}

/**
 * A directory for the run's shared test files (the key material of test/support/key-material.ts), handed
 * to the workers like the pool: TEST_RUN_DIR and `inject('testRunDir')`.
 */
function createRunDir(project: TestProject): string {
  const dir = mkdtempSync(join(tmpdir(), 'giftcard-test-run-'));
  process.env.TEST_RUN_DIR = dir;
  project.provide('testRunDir', dir);
  return dir;
}

function removeRunDir(dir: string): void {
  delete process.env.TEST_RUN_DIR;
  rmSync(dir, { recursive: true, force: true });
}
