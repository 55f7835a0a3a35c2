import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { config } from '../../functions/config';
import { dynamoDbClient, ensureTable } from '../../local/dynamodb';
import { leaseDynamoDb } from '../support/dynamodb-pool';
import { createTestTable, testEnv } from '../support/table';

describe('the test harness', () => {
  it('gives the file a DynamoDB Local leased from the run pool', async () => {
    expect(inject('dynamodbPool')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.DYNAMODB_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = dynamoDbClient(process.env.DYNAMODB_ENDPOINT ?? '');
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    client.destroy();
  });

  it('the pool hands out another instance for each lease at once, and stops one released for good', async () => {
    const pool = inject('dynamodbPool');
    const first = await leaseDynamoDb(pool);
    const second = await leaseDynamoDb(pool);
    expect(first.endpoint).not.toBe(second.endpoint);
    expect(first.endpoint).not.toBe(process.env.DYNAMODB_ENDPOINT);
    const client = dynamoDbClient(first.endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    await first.release({ reuse: false });
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
    client.destroy();
    await second.release({ reuse: false });
  });

  it("a long file's instance is its own: started for it, and stopped when it is given back", async () => {
    const pool = inject('dynamodbPool');
    const long = await leaseDynamoDb(pool, 'long');
    expect(long.endpoint).not.toBe(process.env.DYNAMODB_ENDPOINT);
    const client = dynamoDbClient(long.endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    // Given back for reuse, it is stopped all the same: a long file's writes slow whoever comes next.
    await long.release();
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
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

  it('makes the table with its stream, or without one for a stack that runs no stream consumer', async () => {
    const client = dynamoDbClient(process.env.DYNAMODB_ENDPOINT ?? '');
    await ensureTable(client, 'with-stream');
    await ensureTable(client, 'without-stream', { stream: false });
    const described = async (name: string) =>
      (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
    expect((await described('with-stream'))?.StreamSpecification).toMatchObject({ StreamEnabled: true });
    expect((await described('without-stream'))?.LatestStreamArn).toBeUndefined();
    expect((await described('without-stream'))?.GlobalSecondaryIndexes?.length).toBe(
      (await described('with-stream'))?.GlobalSecondaryIndexes?.length,
    );
    client.destroy();
  });
});
