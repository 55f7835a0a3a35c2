import { createHash, randomUUID } from 'node:crypto';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type * as z from 'zod';
import { DomainError, validationFailed } from '../core/errors';
import { logger } from '../logger';
import { DECLINE_CODES, METRIC } from '../observability/metric-names';
import { countMetric, dimensionedMetric, flushMetrics, MetricUnit } from '../observability/metrics';
import { annotateTrace, tracer } from '../observability/tracer';
import { settleLastUseWrites } from '../store/api-keys';
import type { IdempotencyClaim } from '../store/idempotency';
import { codePeppers } from '../store/secrets';
import {
  answerInTime,
  type RequestTiming,
  TIMEOUT_ANSWER_MARGIN_MS,
  WRITE_IN_FLIGHT_MS,
} from './answer-in-time';
import { authenticate, authorize, type Principal, principalScope } from './auth';
import { withCors } from './cors';
import { noteFailedCheck } from './failed-checks';
import { fieldErrors } from './field-errors';
import { authenticatePass } from './pass-auth';
import { problemResponse } from './problem';
import { openCheckGate, runsAlongsideLimit } from './rate-limit';
import { type ApiFunctionName, type RouteDefinition, routeKey, routesOf } from './route-table';

/** Bodies are small JSON documents; anything larger is refused before parsing. */
const MAX_BODY_BYTES = 16 * 1024;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface OperationRequest<B, Q> {
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string>>;
  readonly body: B;
  readonly query: Q;
  readonly idempotency: IdempotencyClaim | undefined;
  readonly now: Date;
  /** Request headers by lower-case name (conditional requests: If-Modified-Since). */
  readonly headers?: Readonly<Record<string, string>>;
  /** What the operation's `early` started, when it ran. */
  readonly early?: unknown;
  /**
   * Epoch ms after which the operation may send no write: its answer (503 TIMED_OUT) is then due, and
   * a write sent later could commit after it. Absent when the runtime sets no time limit.
   */
  readonly deadlineMs?: number;
}

/**
 * A JSON answer that says whether it is the replay of an earlier request's (`Idempotent-Replayed`):
 * use cases return `{ result, replayed }`, the operation shapes the result.
 */
export class Answer {
  constructor(
    readonly body: unknown,
    readonly replayed: boolean,
  ) {}
}

export const answerOf = <R>(
  committed: { readonly result: R; readonly replayed: boolean },
  view: (result: R) => unknown,
) => new Answer(view(committed.result), committed.replayed);

/** What API Gateway's authorizer already established about a request (functions/http/authorizer.ts). */
export interface GatewayHint {
  /** The programs of the merchant the authorizer named: reads to warm, never a grant. */
  readonly programIds: readonly string[];
}

/**
 * A schema, or a loader that imports it on first use. A route group whose cold request validates nothing
 * declares loaders (a dynamic import of its schemas module), so zod is compiled into its bundle but not
 * evaluated until a request needs it: importing zod costs about 26 ms of CPU at a cold start.
 */
export type SchemaSource<T = unknown> = z.ZodType<T> | (() => Promise<z.ZodType<T>>);

export const loadSchema = async <T>(source: SchemaSource<T>): Promise<z.ZodType<T>> =>
  typeof source === 'function' ? source() : source;

export interface Operation<B = unknown, Q = unknown> {
  /** One line for the API reference (OpenAPI `summary`). */
  readonly summary: string;
  readonly body?: SchemaSource<B>;
  readonly query?: SchemaSource<Q>;
  /** Status of a success; 200 unless said. */
  readonly status?: number;
  /** The JSON success's schema, for the OpenAPI document (functions/http/response-schemas/). */
  readonly response?: SchemaSource;
  /** The success's media type when it is not JSON (the operation answers with a RawResponse). */
  readonly contentType?: string;
  /**
   * Every success the operation answers, when it is more than `status` (in `contentType`): status to
   * media type, null for an empty body. For the OpenAPI document; e.g. Apple's web service answers 201
   * for a new registration and 200 for a known one, both empty.
   */
  readonly successes?: Readonly<Record<number, string | null>>;
  /**
   * Reads to start as the request arrives, alongside authentication, for requests API Gateway's authorizer
   * already let through (in AWS every request with credentials comes that way; `npm start` emulates it).
   * They only warm what `run` reads anyway; `run` gets the result as `request.early` and decides nothing
   * from it before the caller is authenticated. Must not throw.
   */
  readonly early?: (params: Readonly<Record<string, string>>, hint: GatewayHint) => unknown;
  readonly run: (request: OperationRequest<B, Q>) => Promise<unknown>;
}

/**
 * Starts a read for an operation's `early`. A failure waits for `run` to meet it (as if `run` had read
 * then), and is never an unhandled rejection when the request is refused before `run`.
 */
export function readAhead<T>(read: () => Promise<T>): Promise<T> {
  const pending = read();
  pending.catch(() => undefined);
  return pending;
}

/** An answer that is not JSON (the API reference page, a Wallet pass): bytes go out base64-encoded. */
export class RawResponse {
  constructor(
    readonly statusCode: number,
    readonly headers: Record<string, string>,
    readonly body: string | Buffer,
  ) {}
}

/** A route's operation with its input types erased, as the dispatcher holds it. */
export type RouteOperation = Operation<unknown, unknown>;

/**
 * Declares one route's operation: its schemas (validated before `run`, so `run` sees typed input) and
 * what it does.
 */
export const operation = <B = undefined, Q = undefined>(definition: Operation<B, Q>): RouteOperation =>
  definition as unknown as RouteOperation;

const header = (event: APIGatewayProxyEvent, name: string): string | undefined => {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === lower && value !== undefined) return value;
  }
  return undefined;
};

/** The merchant API Gateway's authorizer named (functions/http/authorizer.ts), if any. */
function merchantHint(event: APIGatewayProxyEvent): { merchantHint?: string } {
  const named: unknown = event.requestContext?.authorizer?.merchantId;
  return typeof named === 'string' && named !== '' ? { merchantHint: named } : {};
}

/** Undefined unless API Gateway's authorizer let the request through (its context names a principal). */
function gatewayHint(event: APIGatewayProxyEvent): GatewayHint | undefined {
  const context = event.requestContext?.authorizer;
  if (typeof context?.principalType !== 'string') return undefined;
  const programIds: unknown = context.programIds;
  return {
    programIds: typeof programIds === 'string' && programIds !== '' ? programIds.split(',') : [],
  };
}

/**
 * Request names (headers, query parameters) become own properties (Object.fromEntries), never
 * assignments to a plain object, where `__proto__` would vanish silently instead of being seen.
 */
function lowerCaseHeaders(event: APIGatewayProxyEvent): Record<string, string> {
  const headers = new Map<string, string>();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(key.toLowerCase(), value);
  }
  return Object.fromEntries(headers);
}

function parseBody<B>(event: APIGatewayProxyEvent, schema: z.ZodType<B>): B {
  const raw = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  }
  let json: unknown = {};
  if (raw.trim() !== '') {
    const contentType = header(event, 'content-type');
    if (contentType && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
      throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
    }
    try {
      json = JSON.parse(raw);
    } catch {
      throw validationFailed([{ field: 'body', message: 'not valid JSON' }]);
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw validationFailed(fieldErrors(parsed.error));
  return parsed.data;
}

function parseQuery<Q>(event: APIGatewayProxyEvent, schema: z.ZodType<Q>): Q {
  const query = new Map<string, string>();
  for (const [key, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    if (values && values.length > 1)
      throw validationFailed([{ field: key, message: 'give this parameter once' }]);
    if (values?.[0] !== undefined) query.set(key, values[0]);
  }
  for (const [key, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query.set(key, value);
  }
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (!parsed.success) throw validationFailed(fieldErrors(parsed.error, 'query'));
  return parsed.data;
}

/** JSON with keys in a fixed order, so the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function idempotencyClaim(
  event: APIGatewayProxyEvent,
  route: RouteDefinition,
  principal: Principal,
  params: Record<string, string>,
  body: unknown,
): IdempotencyClaim | undefined {
  if (route.idempotency === 'none') return undefined;
  const key = header(event, 'idempotency-key');
  if (key === undefined) {
    // Staff may leave it out; merchants and the public portal (whose retries only the key tells apart) may not.
    if (principal.type === 'merchant' || principal.type === 'anonymous' || principal.type === 'member') {
      throw validationFailed([
        { field: 'Idempotency-Key', message: 'required on this request (1-255 visible characters)' },
      ]);
    }
    return undefined;
  }
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw validationFailed([{ field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }]);
  }
  // PINs never enter the stored hash: a 4-digit PIN under a known body would be easy to recover from it.
  const {
    pin: _pin,
    currentPin: _currentPin,
    toPin: _toPin,
    ...hashed
  } = (body ?? {}) as Record<string, unknown>;
  const requestHash = createHash('sha256')
    .update(`${routeKey(route)}\n${canonical(params)}\n${canonical(hashed)}`)
    .digest('hex');
  return { scope: principalScope(principal), key, requestHash, attempt: randomUUID() };
}

function json(status: number, body: unknown, requestId: string, replayed: boolean): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: {
      'Content-Type': 'application/json',
      'X-Request-Id': requestId,
      'Cache-Control': 'no-store',
      ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    },
    body: status === 204 ? '' : JSON.stringify(body),
  };
}

/**
 * The Lambda handler of one API function: finds the route's operation, authenticates and authorises
 * the caller by the route table, validates, applies the route's rate limit, runs the operation, and
 * shapes the answer. Refuses to start when the route table names a route this module does not
 * implement, or the reverse.
 */
export type Operations = Readonly<Record<string, RouteOperation>>;

export function apiHandler(fn: ApiFunctionName, operations: Operations) {
  const routes = new Map(routesOf(fn).map((route) => [routeKey(route), route]));
  const missing = [...routes.keys()].filter((key) => !operations[key]);
  const extra = Object.keys(operations).filter((key) => !routes.has(key));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `API function ${fn}: routes without operation [${missing}], operations without route [${extra}]`,
    );
  }

  const dispatch = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const startedMs = performance.now();
    try {
      const result = await answer(event, context);
      countRequest(result.statusCode, performance.now() - startedMs);
      return result;
    } finally {
      // An API key's last-use write ran alongside the request; it finishes within this invocation.
      await settleLastUseWrites();
      flushMetrics();
      logger.resetKeys();
    }
  };

  const answer = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? randomUUID();
    const route = `${event.httpMethod} ${event.resource}`;
    // Every line of this request carries them (the card when the route names one, the merchant once known).
    logger.appendKeys({
      requestId,
      route,
      ...(event.pathParameters?.cardId ? { cardId: event.pathParameters.cardId } : {}),
    });
    annotateTrace({ route, cardId: event.pathParameters?.cardId });
    const remaining = context?.getRemainingTimeInMillis?.();
    const timing: RequestTiming =
      remaining === undefined
        ? {}
        : { answerAtMs: Date.now() + remaining - TIMEOUT_ANSWER_MARGIN_MS, remainingMs: remaining };
    return withCors(
      header(event, 'origin'),
      await answerInTime(timing, requestId, respond(event, requestId, timing)),
    );
  };

  const respond = async (
    event: APIGatewayProxyEvent,
    requestId: string,
    timing: RequestTiming,
  ): Promise<APIGatewayProxyResult> => {
    try {
      const key = `${event.httpMethod} ${event.resource}`;
      const route = routes.get(key);
      const op = operations[key];
      if (!route || !op) throw new DomainError('NOT_FOUND', 'No such route.');
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
        if (value !== undefined) params[name] = value;
      }
      // A result sealed under an Idempotency-Key, and a card id derived from a code, need the pepper: in
      // AWS its first read (Secrets Manager) then runs alongside authentication instead of after the
      // card read. Cached afterwards, so a warm request only checks the cache; a failure is left to the
      // read that needs it.
      if (route.rateLimit || (route.idempotency === 'required' && header(event, 'idempotency-key'))) {
        codePeppers().catch(() => undefined);
      }
      const hint = op.early ? gatewayHint(event) : undefined;
      const early = op.early && hint ? op.early(params, hint) : undefined;
      const authorization = header(event, 'authorization');
      // Public routes check no credentials (Apple's devices call the update list and the log bare).
      const principal: Principal = route.access.public
        ? { type: 'anonymous' }
        : route.access.passToken
          ? await authenticatePass(authorization, params)
          : await authenticate(authorization, merchantHint(event));
      noteCaller(principal);
      authorize(route, principal);
      const body = op.body ? parseBody(event, await loadSchema(op.body)) : undefined;
      const query = op.query ? parseQuery(event, await loadSchema(op.query)) : undefined;
      const now = new Date();
      // The caller's failed-check counts are read alongside the operation's own reads (http/rate-limit.ts).
      const readsOnly = route.rateLimit !== undefined && runsAlongsideLimit(route.rateLimit, body);
      const gate = route.rateLimit
        ? openCheckGate({
            principal,
            sourceIp: event.requestContext?.identity?.sourceIp ?? undefined,
            now,
            readsOnly,
          })
        : undefined;
      if (gate && !readsOnly) await gate.allowed;
      const idempotency = idempotencyClaim(event, route, principal, params, body);
      timing.claim = idempotency;
      const running = op
        .run({
          principal,
          params,
          body,
          query,
          idempotency,
          now,
          headers: lowerCaseHeaders(event),
          ...(early === undefined ? {} : { early }),
          ...(timing.answerAtMs === undefined ? {} : { deadlineMs: timing.answerAtMs - WRITE_IN_FLIGHT_MS }),
        })
        .catch(async (error: unknown) => {
          // Lookups that found nothing and wrong PINs count against the limit and feed the fraud rules;
          // a caller over its limit gets 429 instead, and nothing is counted.
          await noteFailedCheck(route, gate, principal, error, now);
          throw error;
        });
      if (gate) {
        // A refusal wins over whatever the operation answered (and hides it).
        running.catch(() => {});
        await gate.allowed;
      }
      const result = await running;
      if (result instanceof RawResponse) {
        // API Gateway turns a base64 body back into bytes for the binary media types (lib/api-stack.ts).
        const binary = Buffer.isBuffer(result.body);
        return {
          statusCode: result.statusCode,
          headers: { ...result.headers, 'X-Request-Id': requestId },
          body: binary ? result.body.toString('base64') : String(result.body),
          ...(binary ? { isBase64Encoded: true } : {}),
        };
      }
      if (result instanceof Answer) {
        return json(
          op.status ?? 200,
          result.body,
          requestId,
          result.replayed || idempotency?.replayed === true,
        );
      }
      return json(op.status ?? 200, result, requestId, idempotency?.replayed === true);
    } catch (error) {
      if (!(error instanceof DomainError))
        logger.error('Unhandled error', { requestId, error: error as Error });
      else countDecline(error);
      return problemResponse(error, requestId);
    }
  };

  // Middy's own early timeout throws (a bare 502 from API Gateway); answerInTime answers instead. The trace
  // gets a handler subsegment with the route and merchant annotations, never the response (codes at issue).
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>({ timeoutEarlyInMillis: 0 });
  if (tracer) handler.use(captureLambdaHandler(tracer, { captureResponse: false }));
  return handler.handler(dispatch);
}

/** The route group's traffic, server errors and latency (this function's `service` dimension). */
function countRequest(status: number, latencyMs: number): void {
  countMetric(METRIC.apiRequests);
  countMetric(METRIC.apiServerErrors, status >= 500 ? 1 : 0);
  countMetric(METRIC.apiLatency, Math.round(latencyMs), MetricUnit.Milliseconds);
}

const DECLINES: ReadonlySet<string> = new Set(DECLINE_CODES);

/** A card operation the card said no to, by reason (dashboard: declines per minute by reason). */
function countDecline(error: DomainError): void {
  if (DECLINES.has(error.code)) dimensionedMetric(METRIC.declines, { reason: error.code });
}

/** Who is calling, on every later log line and on the trace (never a credential: ids only). */
function noteCaller(principal: Principal): void {
  const merchantId = principal.type === 'merchant' ? principal.merchant.id : undefined;
  // The staff user's subject, not their e-mail: log lines carry no personal data.
  const staffUser = principal.type === 'staff' ? principal.sub : undefined;
  logger.appendKeys({ ...(merchantId ? { merchantId } : {}), ...(staffUser ? { staffUser } : {}) });
  annotateTrace({ merchantId });
}
