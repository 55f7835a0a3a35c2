/** This test file's DynamoDB Local (see dynamodb-per-file.ts). */
export function testDynamoDbEndpoint(): string {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint)
    throw new Error('No DynamoDB Local: run the tests through vitest (test/support/global-setup.ts).');
  return endpoint;
}
