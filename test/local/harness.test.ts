import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { config } from '../../functions/config';
import { dynamoDbClient } from '../../local/dynamodb';
import { createTestTable, testEnv } from '../support/table';

describe('the test harness', () => {
  it('gives every worker the run DynamoDB Local through process.env (and inject)', async () => {
    expect(process.env.DYNAMODB_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.DYNAMODB_ENDPOINT).toBe(inject('dynamodbEndpoint'));
    const client = dynamoDbClient(process.env.DYNAMODB_ENDPOINT ?? '');
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    client.destroy();
  });

  it('creates uniquely named tables and sets the handlers environment', async () => {
    const env = await testEnv();
    const first = await createTestTable();
    const second = await createTestTable();
    expect(first.tableName).not.toBe(second.tableName);
    const parsed = config();
    expect(parsed.TABLE_NAME).toBe(second.tableName);
    expect(parsed.DYNAMODB_ENDPOINT).toBe(process.env.DYNAMODB_ENDPOINT);
    expect(parsed.CODE_PEPPER).toBe(env.codePepper);
    expect(parsed.CODE_PEPPER).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.REGION_CODE).toBe('1');
    expect(JSON.parse(parsed.STAFF_JWKS_JSON ?? '{}').keys[0]).toMatchObject({ alg: 'ES256', use: 'sig' });
    await first.drop();
    await second.drop();
  });
});
