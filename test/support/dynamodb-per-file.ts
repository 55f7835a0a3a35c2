import { relative } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { leaseDynamoDb } from './dynamodb-pool';
import { LONG_FILES } from './long-files';

/**
 * Setup file of the runtime tests: this file gets a DynamoDB Local from the run's pool (global-setup.ts),
 * new or used before by a few short files only (a long file's is its own, with the JVM's full compiler:
 * test/support/long-files.ts), as DYNAMODB_ENDPOINT, and gives it back after its last
 * hook (vitest runs the after-hooks of setup files last). A DYNAMODB_ENDPOINT set before the run is shared by every file.
 */
const pool = process.env.DYNAMODB_ENDPOINT ? '' : (process.env.TEST_DYNAMODB_POOL ?? inject('dynamodbPool'));
if (pool) {
  const file = relative(process.cwd(), expect.getState().testPath ?? '').replaceAll('\\', '/');
  const lease = await leaseDynamoDb(pool, LONG_FILES.includes(file) ? 'long' : 'short');
  process.env.DYNAMODB_ENDPOINT = lease.endpoint;
  afterAll(async () => {
    await lease.release();
  });
}
