import { inject } from 'vitest';

/** The run's DynamoDB Local (see global-setup.ts). */
export function testDynamoDbEndpoint(): string {
  const endpoint = process.env.DYNAMODB_ENDPOINT ?? inject('dynamodbEndpoint');
  if (!endpoint)
    throw new Error('No DynamoDB Local: run the tests through vitest (test/support/global-setup.ts).');
  return endpoint;
}
