/**
 * Test files that run long for their size, longest first (wall time of the file in CI, December 2026:
 * 134, 84, 83, 61 and 37 s). The sequencer (vitest.config.ts) starts them first, so both workers end
 * together; and each gets a DynamoDB Local with the JVM's full optimising compiler
 * (test/support/dynamodb-pool.ts), which pays for itself only over thousands of writes.
 */
export const LONG_FILES: readonly string[] = [
  'test/e2e/production.test.ts',
  // 10,000 cards through DynamoDB Local (issue #19): the longest file by far.
  'test/e2e/bulk-issuance.test.ts',
  'test/e2e/openapi-fuzz.test.ts',
  'test/e2e/concurrency.test.ts',
  'test/e2e/card-policy-matrix.test.ts',
  'test/e2e/finance-exports.test.ts',
  'test/integration/points-ledger.test.ts',
];
