import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/http/authorizer';
import { logger } from '../../functions/logger';
import { clearApiKeyCache, createApiKey, revokeApiKey } from '../../functions/store/api-keys';
import { clearMerchantCache, createMerchant } from '../../functions/store/merchants';
import { makeProgram } from '../support/fixtures';
import { createTestTable, type TestEnv, type TestTable, testEnv } from '../support/table';

/** The API Gateway REQUEST authorizer (functions/http/authorizer.ts), called as API Gateway calls it. */
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/live/POST/v1/cards/lookup';

let table: TestTable;
let env: TestEnv;
beforeAll(async () => {
  table = await createTestTable('authorizer');
  env = await testEnv();
});
afterAll(async () => table.drop());

const event = (authorization?: string): APIGatewayRequestAuthorizerEvent =>
  ({
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    headers: authorization ? { authorization } : {},
  }) as unknown as APIGatewayRequestAuthorizerEvent;

async function merchantKey(usagePlan?: 'standard' | 'high-volume') {
  const merchant = await createMerchant(
    { name: 'Shop', programIds: [], ...(usagePlan ? { usagePlan } : {}) },
    undefined,
  );
  const key = await createApiKey(merchant.id, { scopes: ['cards:read'] }, undefined);
  return { merchant, key };
}

describe('the authorizer', () => {
  it("names the merchant's usage key and allows the whole API (one cached answer serves every route)", async () => {
    const { merchant, key } = await merchantKey('high-volume');
    const result = await handler(event(`Bearer ${key.apiKey}`));
    expect(result.usageIdentifierKey).toBe(merchant.usageIdentifier);
    expect(result.usageIdentifierKey).not.toContain(key.apiKey.slice(3));
    expect(result.principalId).toBe(`merchant:${merchant.id}`);
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/live/*',
      },
    ]);
    expect(result.context).toEqual({
      principalType: 'merchant',
      usagePlan: 'high-volume',
      merchantId: merchant.id,
      keyId: key.id,
    });
    // Nothing secret in what API Gateway may log or pass on.
    expect(JSON.stringify(result)).not.toContain(key.apiKey);
  });

  it("names the merchant's programs, so handlers can read them alongside the key", async () => {
    const programs = [await makeProgram(), await makeProgram()];
    const merchant = await createMerchant(
      { name: 'Two programs', programIds: programs.map((p) => p.id) },
      undefined,
    );
    const key = await createApiKey(merchant.id, { scopes: ['cards:read'] }, undefined);
    const result = await handler(event(`Bearer ${key.apiKey}`));
    expect(result.context?.programIds).toBe(programs.map((p) => p.id).join(','));
  });

  it('names the staff plan key for a staff token', async () => {
    const token = await env.mintStaffToken('support');
    const result = await handler(event(`Bearer ${token}`));
    expect(result.usageIdentifierKey).toBe(process.env.STAFF_USAGE_KEY);
    expect(result.context).toMatchObject({ principalType: 'staff', usagePlan: 'staff' });
    expect(JSON.stringify(result)).not.toContain(token);
  });

  it('answers Unauthorized (API Gateway: 401) to anything that is not a live credential', async () => {
    const { merchant, key } = await merchantKey();
    await revokeApiKey(merchant.id, key.id);
    const forged = `${key.apiKey.slice(0, -4)}aaaa`;
    for (const authorization of [
      undefined,
      'Basic dXNlcjpwYXNz',
      `Bearer ${key.apiKey}`,
      `Bearer ${forged}`,
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    ]) {
      await expect(handler(event(authorization)), String(authorization)).rejects.toThrow(/^Unauthorized$/);
    }
  });

  it('fails (API Gateway: 500, not cached) when the table cannot be read, and logs it without the key', async () => {
    const { key } = await merchantKey();
    clearApiKeyCache();
    clearMerchantCache();
    const mock = mockClient(DynamoDBDocumentClient);
    mock.on(GetCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      await expect(handler(event(`Bearer ${key.apiKey}`))).rejects.toThrow('ProvisionedThroughput');
      expect(logged).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(logged.mock.calls)).not.toContain(key.apiKey);
    } finally {
      mock.restore();
      logged.mockRestore();
    }
  });
});
