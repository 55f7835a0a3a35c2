import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/api/cards';
import { TIMEOUT_ANSWER_MARGIN_MS } from '../../functions/http/answer-in-time';
import { logger } from '../../functions/logger';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/** Faults DynamoDB Local cannot produce on demand: the SDK client is mocked for these only. */
let table: TestTable;
let token: string;
beforeAll(async () => {
  table = await createTestTable('faults');
  token = await (await testEnv()).mintStaffToken('support');
});
afterAll(async () => table.drop());

function event(path: string, cardId: string): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET',
    resource: path,
    path: path.replace('{cardId}', cardId),
    pathParameters: { cardId },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: { Authorization: `Bearer ${token}` },
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { requestId: 'req-fault-1' } as APIGatewayProxyEvent['requestContext'],
  };
}

describe('an unexpected failure', () => {
  it('answers 500 problem+json with the request id and no internals, and logs it once', async () => {
    const mock = mockClient(DynamoDBDocumentClient);
    mock
      .on(GetCommand)
      .rejects(new Error('ThrottlingException arn:aws:dynamodb:us-east-1:123456789012:table/secret-table'));
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const response = await handler(event('/v1/cards/{cardId}', `gc_${'2'.repeat(26)}`), {} as Context);
      expect(response.statusCode).toBe(500);
      expect(response.headers?.['Content-Type']).toBe('application/problem+json');
      const body = JSON.parse(response.body);
      expect(body).toMatchObject({ status: 500, code: 'INTERNAL', requestId: 'req-fault-1' });
      expect(response.body).not.toMatch(/arn:|secret-table|Throttling|stack|at /);
      expect(logged).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(logged.mock.calls)).not.toContain(token);
    } finally {
      mock.restore();
      logged.mockRestore();
    }
  });
});

describe('a request that runs out of time', () => {
  it('is answered 503 TIMED_OUT problem+json with Retry-After before the function times out, and logged', async () => {
    const mock = mockClient(DynamoDBDocumentClient);
    // DynamoDB never answers: the handler must still answer before its time is up.
    mock.on(GetCommand).callsFake(() => new Promise(() => undefined));
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const deadline = Date.now() + TIMEOUT_ANSWER_MARGIN_MS + 200;
    const context = { getRemainingTimeInMillis: () => deadline - Date.now() } as Context;
    try {
      const response = await handler(event('/v1/cards/{cardId}', `gc_${'3'.repeat(26)}`), context);
      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject({
        'Content-Type': 'application/problem+json',
        'Retry-After': '1',
        'X-Request-Id': 'req-fault-1',
      });
      const body = JSON.parse(response.body);
      expect(body).toMatchObject({ status: 503, code: 'TIMED_OUT', requestId: 'req-fault-1' });
      expect(body.detail).toContain('same Idempotency-Key');
      expect(logged).toHaveBeenCalledWith(
        'Request ran out of time',
        expect.objectContaining({ metric: 'ApiRequestTimedOut', requestId: 'req-fault-1' }),
      );
    } finally {
      mock.restore();
      logged.mockRestore();
    }
  });
});
