import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** What the local server knows about one HTTP request once its body is read. */
export interface LocalRequest {
  readonly method: string;
  /** Path and query string as sent, e.g. `/v1/cards/abc?x=1`. */
  readonly url: string;
  /** Node's `rawHeaders`: names in their original case, alternating with values. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly host: string;
  readonly port: number;
}

export interface MatchedRoute {
  /** The route's path template, e.g. `/v1/cards/{cardId}/redeem`. */
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
}

export const LOCAL_STAGE = 'local';

/** Media types API Gateway passes through as text; every other content type arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    type === '' ||
    type.startsWith('text/') ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    type === 'application/x-www-form-urlencoded' ||
    type === 'application/javascript' ||
    type === 'application/graphql'
  );
}

export function splitUrl(url: string): { path: string; query: string } {
  const index = url.indexOf('?');
  return index === -1 ? { path: url, query: '' } : { path: url.slice(0, index), query: url.slice(index + 1) };
}

/**
 * Names are collected in a Map, never as keys of a plain object: a parameter or header called
 * `__proto__` would read (and spread) Object.prototype. Object.fromEntries makes each an own property,
 * as API Gateway's JSON event has it.
 */
function collect(pairs: Iterable<readonly [string, string]>): Map<string, string[]> {
  const multi = new Map<string, string[]>();
  for (const [name, value] of pairs) multi.set(name, [...(multi.get(name) ?? []), value]);
  return multi;
}

function queryParameters(query: string) {
  const multi = collect(new URLSearchParams(query));
  if (multi.size === 0) return { single: null, multi: null };
  // API Gateway REST keeps the last value in the single-value map.
  const single = Object.fromEntries([...multi].map(([name, values]) => [name, values.at(-1)]));
  return { single, multi: Object.fromEntries(multi) };
}

function* headerPairs(rawHeaders: readonly string[]): Generator<readonly [string, string]> {
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index];
    const value = rawHeaders[index + 1];
    if (name !== undefined && value !== undefined) yield [name, value];
  }
}

function headerMaps(rawHeaders: readonly string[], request: LocalRequest) {
  const multi = collect(headerPairs(rawHeaders));
  const present = new Set([...multi.keys()].map((name) => name.toLowerCase()));
  // Headers API Gateway adds in front of every integration.
  const added: Record<string, string> = {
    'X-Forwarded-For': request.sourceIp,
    'X-Forwarded-Port': String(request.port),
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(added))
    if (!present.has(name.toLowerCase())) multi.set(name, [value]);
  const single = Object.fromEntries([...multi].map(([name, values]) => [name, values.at(-1)]));
  return { single, multi: Object.fromEntries(multi) };
}

const headerValue = (headers: Record<string, string | undefined>, name: string): string | undefined =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];

/** API Gateway's requestTime format: `25/Nov/2026:22:14:12 +0000`. */
function requestTime(date: Date): string {
  const [, day, month, year, time] = /^\w+, (\d+) (\w+) (\d+) ([\d:]+)/.exec(date.toUTCString()) ?? [];
  return `${day}/${month}/${year}:${time} +0000`;
}

/** The REST API (v1) Lambda proxy integration event for one request on a matched route. */
export function toApiGatewayEvent(
  request: LocalRequest,
  route: MatchedRoute,
  now = new Date(),
): APIGatewayProxyEvent {
  const { path, query } = splitUrl(request.url);
  const queryMaps = queryParameters(query);
  const headers = headerMaps(request.rawHeaders, request);
  const binary = !isTextContentType(headerValue(headers.single, 'content-type'));
  const requestId = randomUUID();
  const method = request.method.toUpperCase();
  return {
    resource: route.resource,
    path,
    httpMethod: method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: queryMaps.single,
    multiValueQueryStringParameters: queryMaps.multi,
    pathParameters: route.pathParameters,
    stageVariables: null,
    body: request.body.length === 0 ? null : request.body.toString(binary ? 'base64' : 'utf8'),
    isBase64Encoded: binary && request.body.length > 0,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName: request.host,
      domainPrefix: request.host.split('.')[0] ?? request.host,
      extendedRequestId: randomBytes(8).toString('base64url'),
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent: headerValue(headers.single, 'user-agent') ?? null,
        userArn: null,
      },
      path: `/${LOCAL_STAGE}${path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: requestTime(now),
      requestTimeEpoch: now.getTime(),
      resourceId: randomBytes(3).toString('hex'),
      resourcePath: route.resource,
      stage: LOCAL_STAGE,
    },
  };
}
