import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as system } from '../../functions/api/system';
import { docsPage, openApiDocument } from '../../functions/http/openapi';
import { ROUTES, routeKey } from '../../functions/http/route-table';
import {
  ALL_OPERATIONS as all,
  buildOpenApiDocument,
  OPENAPI_FILE,
  openApiFileText,
} from '../../local/openapi-document';
import { WEB_API_TYPES_FILE, webApiTypesText } from '../../local/openapi-types';

const document = await buildOpenApiDocument();

const get = (path: string): APIGatewayProxyEvent => ({
  httpMethod: 'GET',
  resource: path,
  path,
  pathParameters: null,
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  headers: {},
  multiValueHeaders: {},
  body: null,
  isBase64Encoded: false,
  stageVariables: null,
  requestContext: { requestId: 'req-openapi' } as APIGatewayProxyEvent['requestContext'],
});
describe('the OpenAPI document', () => {
  it('is checked in as generated from the code (run `npm run openapi` after changing a route or schema)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openApiFileText(document));
  });

  it("is what the web apps' API types are generated from (run `npm run openapi` after changing a schema)", async () => {
    expect(readFileSync(WEB_API_TYPES_FILE, 'utf8')).toBe(await webApiTypesText(document));
  });

  it('is what GET /openapi.json serves, and GET /docs renders it', async () => {
    const served = await system(get('/openapi.json'), {} as Context);
    expect(served.statusCode).toBe(200);
    expect(JSON.parse(served.body)).toEqual(document);
    const page = await system(get('/docs'), {} as Context);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('/v1/cards/{cardId}/redeem');
  });

  it('is OpenAPI 3.1 and lists every route of the route table, each with a summary and its callers', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as
        | { summary: string; description: string }
        | undefined;
      expect(operation, routeKey(route)).toBeDefined();
      expect(operation?.summary.length, routeKey(route)).toBeGreaterThan(5);
      expect(operation?.description, routeKey(route)).toMatch(/Callers|Anyone/);
    }
  });

  it('every route with a body or query has the schema its handler validates with', () => {
    for (const route of ROUTES) {
      const operation = all[route.fn][routeKey(route)];
      const documented = document.paths[route.path]?.[route.method.toLowerCase()] as {
        requestBody?: { content: { 'application/json': { schema: { properties?: object } } } };
        parameters: { name: string; in: string }[];
      };
      if (['POST', 'PUT', 'PATCH'].includes(route.method)) {
        expect(operation?.body, `${routeKey(route)} declares no body schema`).toBeDefined();
        expect(documented.requestBody?.content['application/json'].schema, routeKey(route)).toBeTypeOf(
          'object',
        );
      }
      if (route.method === 'GET' && operation?.query) {
        expect(
          documented.parameters.some((p) => p.in === 'query'),
          routeKey(route),
        ).toBe(true);
      }
      for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
        expect(documented.parameters.map((p) => p.name)).toContain(name.slice(1, -1));
      }
    }
  });

  it('documents the money rules as the validator enforces them', () => {
    const redeem = document.paths['/v1/cards/{cardId}/redeem']?.post as {
      requestBody: {
        content: {
          'application/json': {
            schema: { properties: Record<string, Record<string, unknown>>; additionalProperties: boolean };
          };
        };
      };
    };
    const schema = redeem.requestBody.content['application/json'].schema;
    expect(schema.properties.amount).toMatchObject({ type: 'integer', minimum: 1 });
    expect(schema.additionalProperties).toBe(false);
  });

  it('documents every success as it is answered: status, media type, no body where there is none', () => {
    type Responses = Record<string, { content?: Record<string, unknown> }>;
    const responses = (path: string, method: string): Responses =>
      (document.paths[path]?.[method] as { responses?: Responses } | undefined)?.responses ?? {};
    const media = (answer: { content?: Record<string, unknown> } | undefined) =>
      Object.keys(answer?.content ?? {});
    expect(media(responses('/docs', 'get')['200'])).toEqual(['text/html']);
    expect(media(responses('/v1/cards/{cardId}/redeem', 'post')['200'])).toEqual(['application/json']);
    expect(media(responses('/v1/cards/{cardId}/pin/verify', 'post')['204'])).toEqual([]);
    expect(media(responses('/v1/webhooks/{webhookId}', 'delete')['204'])).toEqual([]);
  });

  it('gives every JSON success its response schema: no route answers a bare object', () => {
    type Answer = { content?: Record<string, { schema: Record<string, unknown> }> };
    const bare: string[] = [];
    let json = 0;
    for (const route of ROUTES) {
      const documented = document.paths[route.path]?.[route.method.toLowerCase()] as {
        responses: Record<string, Answer>;
      };
      for (const [status, answer] of Object.entries(documented.responses)) {
        const schema = answer.content?.['application/json']?.schema;
        if (!/^2/.test(status) || !schema) continue;
        json += 1;
        const declared = all[route.fn][routeKey(route)]?.response !== undefined;
        const typed = schema.type === 'object' && typeof schema.properties === 'object';
        if (!declared || !typed) bare.push(`${routeKey(route)} ${status}`);
      }
    }
    expect(json).toBeGreaterThan(60);
    expect(bare).toEqual([]);
  });

  it('refuses to document a JSON success without a response schema', async () => {
    const health = all.system['GET /health'];
    if (!health) throw new Error('no GET /health');
    const { response: _response, ...bare } = health;
    await expect(openApiDocument({ ...all, system: { ...all.system, 'GET /health': bare } })).rejects.toThrow(
      'GET /health answers JSON but declares no response schema',
    );
  });

  it("documents Apple's web service answers: 201 or 200 for a registration, 204 and 304, all without a body", () => {
    type Responses = Record<string, { content?: Record<string, unknown> }>;
    const responses = (path: string, method: string): Responses =>
      (document.paths[path]?.[method] as { responses?: Responses } | undefined)?.responses ?? {};
    const media = (answer: { content?: Record<string, unknown> } | undefined) =>
      Object.keys(answer?.content ?? {});
    const registration =
      '/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}';
    const register = responses(registration, 'post');
    expect([media(register['201']), media(register['200'])]).toEqual([[], []]);
    expect(media(responses(registration, 'delete')['200'])).toEqual([]);
    const updates = responses(
      '/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}',
      'get',
    );
    expect([media(updates['200']), media(updates['204'])]).toEqual([['application/json'], []]);
    const pass = '/wallet/apple/v1/passes/{passTypeIdentifier}/{serialNumber}';
    expect(media(responses(pass, 'get')['200'])).toEqual(['application/vnd.apple.pkpass']);
    expect(media(responses(pass, 'get')['304'])).toEqual([]);
    expect(media(responses(pass, 'head')['200'])).toEqual([]);
    expect(media(responses('/wallet/apple/v1/log', 'post')['200'])).toEqual([]);
  });

  it('renders a readable reference page with every route and no script', () => {
    const html = docsPage(document);
    for (const route of ROUTES) expect(html).toContain(route.path.replaceAll('&', '&amp;'));
    expect(html).not.toMatch(/<script/i);
  });
});
