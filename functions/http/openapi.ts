import * as z from 'zod';
import { loadSchema, type Operations, type RouteOperation, type SchemaSource } from './api-handler';
import { type ApiFunctionName, ROUTES, type RouteDefinition, routeKey } from './route-table';

/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas each operation
 * validates with: nothing here is written by hand twice, so the reference cannot drift from the code.
 */
type JsonSchema = Record<string, unknown>;

const toSchema = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;

function withoutMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function accessNote(route: RouteDefinition): string {
  const { access } = route;
  if (access.public) return 'Anyone (no credentials).';
  if (access.passToken) {
    return 'Callers: the Wallet device holding the pass named by the path, with `Authorization: ApplePass <authenticationToken>`.';
  }
  const who = [
    access.merchant ? `merchant API keys with scope \`${access.merchant}\`` : undefined,
    access.staff?.length ? `staff roles ${access.staff.map((role) => `\`${role}\``).join(', ')}` : undefined,
    access.member
      ? 'a signed-in loyalty member (`Authorization: Bearer ms_...`), on their own data only'
      : undefined,
  ].filter(Boolean);
  const limit = route.rateLimit
    ? ' Failed checks (codes that find nothing, wrong or locked PINs) are limited per API key or staff user and per merchant (a 10-minute sliding window; successes are never limited here): over the limit the answer is 429 `RATE_LIMITED` with `Retry-After` (seconds).'
    : '';
  return `Callers: ${who.join('; ')}.${limit}`;
}

function parameters(route: RouteDefinition, query: z.ZodType | undefined) {
  const path = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
    name: match[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const queryParams: unknown[] = [];
  if (query) {
    const schema = toSchema(query);
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries(properties)) {
      queryParams.push({ name, in: 'query', required: required.has(name), schema: property });
    }
  }
  const idempotency =
    route.idempotency === 'required'
      ? [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'Required from merchants (1-255 visible ASCII characters). A retry with the same key and request ' +
              'gets the first answer (`Idempotent-Replayed: true`); another request with the key is 422.',
            schema: { type: 'string', minLength: 1, maxLength: 255 },
          },
        ]
      : [];
  return [...path, ...queryParams, ...idempotency];
}

/** The document's shape as far as this module and its readers rely on it. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly paths: Record<string, Record<string, unknown>>;
  readonly [key: string]: unknown;
}

const PROBLEM: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable machine code, e.g. INSUFFICIENT_FUNDS, VALIDATION_FAILED' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const JSON_MEDIA_TYPE = 'application/json';

/**
 * A success's body: none, bytes (a pass, a page), or JSON in the operation's `response` schema, which
 * every JSON answer must declare: the web apps' typed client is generated from it.
 */
function successContent(
  mediaType: string | null,
  response: z.ZodType | undefined,
  route: RouteDefinition,
): Record<string, unknown> {
  if (mediaType === null) return {};
  if (mediaType === JSON_MEDIA_TYPE && !response) {
    throw new Error(`${routeKey(route)} answers JSON but declares no response schema`);
  }
  const schema = response
    ? withoutMeta(
        z.toJSONSchema(response, {
          io: 'output',
          unrepresentable: 'any',
          target: 'draft-2020-12',
        }) as JsonSchema,
      )
    : { type: 'string', format: 'binary' };
  return { content: { [mediaType]: { schema } } };
}

/**
 * The answers of success: `successes` when the operation lists them, else `status` (200) in
 * `contentType` (JSON); a 204, and any answer to HEAD, has no body.
 */
function successResponses(
  operation: RouteOperation,
  response: z.ZodType | undefined,
  route: RouteDefinition,
): Record<string, unknown> {
  const status = operation.status ?? 200;
  const successes = operation.successes ?? { [status]: operation.contentType ?? JSON_MEDIA_TYPE };
  return Object.fromEntries(
    Object.entries(successes).map(([code, mediaType]) => [
      code,
      {
        description: code === '304' ? 'Not modified' : 'Success',
        ...successContent(
          code === '204' || route.method === 'HEAD' ? null : mediaType,
          mediaType === JSON_MEDIA_TYPE ? response : undefined,
          route,
        ),
      },
    ]),
  );
}

const loadIfAny = (source: SchemaSource | undefined) => (source ? loadSchema(source) : undefined);

/** Async because some route groups load their schemas on first use (api-handler.ts SchemaSource). */
export async function openApiDocument(
  operations: Readonly<Record<ApiFunctionName, Operations>>,
): Promise<OpenApiDocument> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const operation = operations[route.fn]?.[routeKey(route)];
    if (!operation) throw new Error(`No operation for ${routeKey(route)}`);
    const [body, query, response] = await Promise.all([
      loadIfAny(operation.body),
      loadIfAny(operation.query),
      loadIfAny(operation.response),
    ]);
    paths[route.path] ??= {};
    const item = paths[route.path] as Record<string, unknown>;
    item[route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: operation.summary,
      description: accessNote(route),
      tags: [route.fn],
      security: route.access.public ? [] : route.access.passToken ? [{ applePass: [] }] : [{ bearer: [] }],
      parameters: parameters(route, query),
      ...(body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: withoutMeta(toSchema(body)) } },
            },
          }
        : {}),
      responses: {
        ...successResponses(operation, response, route),
        ...(route.rateLimit ? { '429': { $ref: '#/components/responses/RateLimited' } } : {}),
        '4XX': { $ref: '#/components/responses/Problem' },
        '503': { $ref: '#/components/responses/TimedOut' },
        '5XX': { $ref: '#/components/responses/Problem' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gift card platform API',
      version: '1',
      description:
        'Amounts are integer minor units of the card currency. Errors are application/problem+json with a stable `code`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A merchant API key (gk_...) or a staff JWT.',
        },
        applePass: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: "Apple's PassKit web service: `ApplePass <the pass's authenticationToken>`.",
        },
      },
      schemas: { Problem: PROBLEM },
      responses: {
        Problem: {
          description: 'A problem',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
        RateLimited: {
          description: 'Too many requests (code RATE_LIMITED); retry after the seconds in Retry-After',
          headers: {
            'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
          },
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
        TimedOut: {
          description:
            'The request did not finish in time (code TIMED_OUT); send it again after Retry-After with the same Idempotency-Key: it takes effect at most once',
          headers: {
            'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
          },
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    },
  };
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** A readable, self-contained reference page (no scripts, nothing fetched) rendered from the document. */
export function docsPage(document: OpenApiDocument): string {
  const sections = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, raw]) => {
      const op = raw as {
        summary: string;
        description: string;
        parameters: { name: string; in: string; required: boolean }[];
        requestBody?: { content: Record<string, { schema: unknown }> };
      };
      const params = op.parameters
        .map((p) => `<li><code>${escapeHtml(p.name)}</code> (${p.in}${p.required ? ', required' : ''})</li>`)
        .join('');
      const body = op.requestBody
        ? `<details><summary>Request body schema</summary><pre>${escapeHtml(JSON.stringify(op.requestBody.content['application/json']?.schema, null, 2))}</pre></details>`
        : '';
      return `<section><h3><span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3><p>${escapeHtml(op.summary)}</p><p class="a">${escapeHtml(op.description)}</p>${params ? `<ul>${params}</ul>` : ''}${body}</section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(document.info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{font-weight:700;color:#05a}.a{color:#555}pre{background:#f6f6f6;padding:.5rem;overflow:auto}</style>
</head><body><h1>${escapeHtml(document.info.title)}</h1><p>${escapeHtml(document.info.description)}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>${sections.join('\n')}</body></html>`;
}
