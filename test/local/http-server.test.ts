import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiFunctionName } from '../../functions/http/route-table';
import type { ApiHandler } from '../../local/handlers';
import { type LocalHttpServer, startHttpServer } from '../../local/http-server';
import type { LocalLog } from '../../local/log';

interface Invocation {
  readonly fn: ApiFunctionName;
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
}

const invocations: Invocation[] = [];
const logLines: string[] = [];
const log: LocalLog = {
  info: (line) => logLines.push(line),
  warn: (line) => logLines.push(line),
  error: (line) => logLines.push(line),
};

/** Stands in for functions/api/<fn>.ts: echoes the event, or does what the request's path asks. */
const fakeHandler =
  (fn: ApiFunctionName): ApiHandler =>
  async (event, context) => {
    invocations.push({ fn, event, context });
    const cardId = event.pathParameters?.cardId;
    if (cardId === 'throws') throw new Error('secret internals: table giftcard-local, key CARD#1');
    if (cardId === 'malformed') return { nope: true } as unknown as APIGatewayProxyResult;
    if (cardId === 'binary') {
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/vnd.apple.pkpass' },
        body: Buffer.from([0, 1, 2, 250, 251]).toString('base64'),
        isBase64Encoded: true,
      };
    }
    if (cardId === 'multi') {
      return {
        statusCode: 201,
        headers: { 'X-Single': 'one', 'Set-Cookie': 'ignored=1' },
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
        body: '',
      };
    }
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ fn, event }),
    };
  };

let server: LocalHttpServer;

beforeAll(async () => {
  server = await startHttpServer({ port: 0, loadHandler: async (fn) => fakeHandler(fn), log });
});
afterAll(async () => {
  await server.close();
});

const url = (path: string) => `${server.baseUrl}${path}`;

async function echo(path: string, init: RequestInit = {}) {
  const response = await fetch(url(path), init);
  expect(response.status).toBe(200);
  return (await response.json()) as { fn: ApiFunctionName; event: APIGatewayProxyEvent };
}

describe('the local API Gateway event', () => {
  it('carries the route template, decoded path parameters, the query and the body', async () => {
    const { fn, event } = await echo('/v1/cards/card%20one/redeem?x=1&tag=a&tag=b%26c', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': 'k-1',
        Authorization: 'Bearer t0ken',
      },
      body: JSON.stringify({ amount: 1000 }),
    });
    expect(fn).toBe('cards');
    expect(event.httpMethod).toBe('POST');
    expect(event.resource).toBe('/v1/cards/{cardId}/redeem');
    expect(event.path).toBe('/v1/cards/card%20one/redeem');
    expect(event.pathParameters).toEqual({ cardId: 'card one' });
    expect(event.queryStringParameters).toEqual({ x: '1', tag: 'b&c' });
    expect(event.multiValueQueryStringParameters).toEqual({ x: ['1'], tag: ['a', 'b&c'] });
    expect(event.body).toBe('{"amount":1000}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.stageVariables).toBeNull();
    expect(event.requestContext).toMatchObject({
      stage: 'local',
      httpMethod: 'POST',
      resourcePath: '/v1/cards/{cardId}/redeem',
      path: '/local/v1/cards/card%20one/redeem',
      identity: { sourceIp: '127.0.0.1' },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(event.requestContext.requestTimeEpoch - Date.now())).toBeLessThan(10_000);
  });

  it('carries the request headers and the ones API Gateway adds', async () => {
    const { event } = await echo('/v1/cards/c1', {
      headers: { Authorization: 'Bearer abc', 'X-Custom': 'v' },
    });
    const lookup = (name: string) =>
      Object.entries(event.headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
    expect(lookup('authorization')).toBe('Bearer abc');
    expect(lookup('x-custom')).toBe('v');
    expect(event.headers['X-Forwarded-For']).toBe('127.0.0.1');
    expect(event.headers['X-Forwarded-Proto']).toBe('http');
  });

  it('passes header names exactly as sent on the wire', async () => {
    const { request } = await import('node:http');
    const raw = await new Promise<string>((resolve, reject) => {
      const req = request(url('/v1/cards/c1'), { headers: { 'X-Mixed-Case': 'v1' } }, (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.setHeader('X-Repeated', ['one', 'two']);
      req.end();
    });
    const { event } = JSON.parse(raw) as { event: APIGatewayProxyEvent };
    expect(event.headers['X-Mixed-Case']).toBe('v1');
    expect(event.multiValueHeaders['X-Repeated']).toEqual(['one', 'two']);
    expect(event.headers['X-Repeated']).toBe('two');
  });

  it('has null query maps, null path parameters and a null body when there are none', async () => {
    const { fn, event } = await echo('/health');
    expect(fn).toBe('system');
    expect(event.resource).toBe('/health');
    expect(event.pathParameters).toBeNull();
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
    expect(event.body).toBeNull();
  });

  it('base64-encodes binary request bodies', async () => {
    const bytes = Buffer.from([0, 159, 146, 150, 255]);
    const { event } = await echo('/v1/cards/c1/load', {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
    });
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(bytes);
  });

  it('prefers a literal segment over a parameter (POST /v1/cards/lookup is not a card id)', async () => {
    const { event } = await echo('/v1/cards/lookup', { method: 'POST', body: '{}' });
    expect(event.resource).toBe('/v1/cards/lookup');
    expect(event.pathParameters).toBeNull();
  });

  it('gives the handler a Lambda context naming the function', async () => {
    await echo('/v1/transactions/t1');
    const last = invocations.at(-1);
    expect(last?.context.functionName).toBe('giftcard-transactions');
    expect(last?.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(last?.context.getRemainingTimeInMillis()).toBeGreaterThan(20_000);
  });
});

describe('responses', () => {
  it('writes base64-encoded results as bytes', async () => {
    const response = await fetch(url('/v1/cards/binary'));
    expect(response.headers.get('content-type')).toBe('application/vnd.apple.pkpass');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 250, 251]));
  });

  it('merges headers and multiValueHeaders as API Gateway does', async () => {
    const response = await fetch(url('/v1/cards/multi'));
    expect(response.status).toBe(201);
    expect(response.headers.get('x-single')).toBe('one');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('gateway errors are problem+json', () => {
  it('404 NOT_FOUND for a path no route matches', async () => {
    const response = await fetch(url('/v1/nothing/here'));
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, code: 'NOT_FOUND', title: 'Not found' });
  });

  it('405 METHOD_NOT_ALLOWED with Allow for a known path and another method', async () => {
    const response = await fetch(url('/v1/cards/c1/redeem'), { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('allow')).toBe('POST');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    expect(typeof body.type).toBe('string');
    expect(typeof body.detail).toBe('string');
  });

  it('405 rather than falling back to a parameter route (GET /v1/cards/lookup)', async () => {
    const response = await fetch(url('/v1/cards/lookup'));
    expect(response.status).toBe(405);
  });

  it('413 PAYLOAD_TOO_LARGE above 10 MB, without calling the handler', async () => {
    const before = invocations.length;
    const response = await fetch(url('/v1/cards'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(invocations.length).toBe(before);
  });

  it('accepts a body of exactly 10 MB', async () => {
    const response = await fetch(url('/v1/cards/c1/load'), {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'x'.repeat(10 * 1024 * 1024),
    });
    expect(response.status).toBe(200);
  });

  it('500 without internals when the handler throws', async () => {
    const response = await fetch(url('/v1/cards/throws'));
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(text).not.toContain('secret internals');
    expect(text).not.toContain('CARD#1');
  });

  it('502 for a malformed proxy result', async () => {
    const response = await fetch(url('/v1/cards/malformed'));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ status: 502 });
  });
});

describe('the request log', () => {
  it('has method, route template, status and time, never the body, the query or the Authorization header', async () => {
    logLines.length = 0;
    await fetch(url('/v1/cards/c-42/redeem?code=1234'), {
      method: 'POST',
      headers: { Authorization: 'Bearer very-secret-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ amount: 1000, pin: '9876' }),
    });
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toMatch(/^POST \/v1\/cards\/\{cardId\}\/redeem 200 \d+ms$/);
    const all = logLines.join('\n');
    expect(all).not.toContain('very-secret-token');
    expect(all).not.toContain('9876');
    expect(all).not.toContain('1234');
  });
});
