import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    testRunDir: string;
  }
}

/**
 * Starts one in-memory DynamoDB Local for the whole run (java, a few seconds) and hands its endpoint to
 * the test workers twice: as process.env.DYNAMODB_ENDPOINT (forked workers inherit the environment of
 * the main process as it is after global setup) and through `inject('dynamodbEndpoint')`.
 * With DYNAMODB_ENDPOINT already set (a DynamoDB Local started by CI, say), that one is used instead.
 * Also makes the run's directory of shared test files (see createRunDir).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Node 20 runs the tests; the AWS SDK's notice about Node 22 would only clutter the output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const runDir = createRunDir(project);
  const given = process.env.DYNAMODB_ENDPOINT;
  if (given) {
    project.provide('dynamodbEndpoint', given);
    return async () => removeRunDir(runDir);
  }
  const dynamodb = await startDynamoDbLocal({ port: 0 });
  process.env.DYNAMODB_ENDPOINT = dynamodb.endpoint;
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  return async () => {
    delete process.env.DYNAMODB_ENDPOINT;
    await dynamodb.stop();
    removeRunDir(runDir);
  };
}

/**
 * A directory for the run's shared test files (the key material of test/support/key-material.ts), handed
 * to the workers like the endpoint: TEST_RUN_DIR and `inject('testRunDir')`.
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
