import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ERROR_STATUS, type ErrorCode } from '../functions/core/errors';
import { type GatewayProblemType, gatewayProblem } from '../functions/http/gateway';
import { problemOf } from '../functions/http/problem';
import type { RouteDefinition } from '../functions/http/route-table';
import { type LocalRequest, splitUrl, toApiGatewayEvent } from './api-gateway-event';
import { LocalRuntimeError } from './errors';
import type { LocalGatewayAuth } from './gateway-auth';
import { type ApiHandlerLoader, cachedLoader, importApiHandler, lambdaContext } from './handlers';
import { consoleLog, type LocalLog } from './log';
import { portInUseError } from './ports';
import { createRouteMatcher } from './route-matcher';

/** API Gateway's payload limit (10 MB) and integration timeout (29 s). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const INTEGRATION_TIMEOUT_MS = 29_000;

export interface HttpServerOptions {
  /** Default 3000; 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly routes?: readonly RouteDefinition[];
  /** Default: import `functions/api/<fn>.ts`. Tests inject fakes. */
  readonly loadHandler?: ApiHandlerLoader;
  readonly log?: LocalLog;
  readonly maxBodyBytes?: number;
  readonly timeoutMs?: number;
  /** The authorizer and usage plans in front of merchant and staff routes (local/gateway-auth.ts). */
  readonly gateway?: LocalGatewayAuth;
  /**
   * What answers requests no API route matches (the web apps, the local OAuth issuer); true when it
   * answered. Without one, or when it declines, such requests get the API's 404.
   */
  readonly fallback?: LocalFallback;
}

export type LocalFallback = (
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
) => Promise<boolean>;

export interface LocalHttpServer {
  readonly port: number;
  readonly baseUrl: string;
  readonly server: Server;
  close(): Promise<void>;
}

interface GatewayProblem {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly headers?: Record<string, string>;
}

/** Answers API Gateway itself gives (no handler ran), in the same problem+json as the handlers' errors. */
function writeProblem(response: ServerResponse, problem: GatewayProblem, requestId: string): void {
  const body = problemOf(problem.code, problem.detail, { status: problem.status, requestId });
  response.writeHead(problem.status, {
    'Content-Type': 'application/problem+json',
    'x-amzn-RequestId': requestId,
    ...problem.headers,
  });
  response.end(JSON.stringify(body));
}

/**
 * A request Node's HTTP parser refuses before any handler sees it (request line and headers over 16 KiB,
 * malformed HTTP) is answered in problem+json too, as API Gateway answers its own refusals, instead of
 * Node's bare status line.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(
    tooLarge
      ? problemOf('PAYLOAD_TOO_LARGE', 'The request line and headers are too large.', { status })
      : problemOf('VALIDATION_FAILED', 'The request is not valid HTTP.', { status }),
  );
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

/** A refusal API Gateway answers with one of its gateway responses (functions/http/gateway.ts). */
function gatewayResponse(type: GatewayProblemType): GatewayProblem {
  const problem = gatewayProblem(type);
  return {
    status: problem.status ?? ERROR_STATUS[problem.code],
    code: problem.code,
    detail: problem.detail,
    ...(problem.headers ? { headers: { ...problem.headers } } : {}),
  };
}

const internalError = (requestId: string): GatewayProblem => ({
  status: 500,
  code: 'INTERNAL',
  detail: `The request failed unexpectedly. Quote request id ${requestId} when reporting it.`,
});

class BodyTooLarge extends Error {}

/** Reads the body up to `limit` bytes; past it, the rest is drained and BodyTooLarge thrown. */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = declared > limit;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  if (tooLarge) throw new BodyTooLarge();
  return Buffer.concat(chunks);
}

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== 'object' || value === null) return false;
  const { statusCode, body } = value as Record<string, unknown>;
  return (
    Number.isInteger(statusCode) &&
    (statusCode as number) >= 100 &&
    (statusCode as number) <= 599 &&
    (body === undefined || body === null || typeof body === 'string')
  );
}

/** Headers and multiValueHeaders merged as API Gateway does: multi-value entries win for the same name. */
function responseHeaders(result: APIGatewayProxyResult): Map<string, string[]> {
  const merged = new Map<string, { name: string; values: string[] }>();
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    merged.set(name.toLowerCase(), { name, values: values.map(String) });
  }
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (!merged.has(name.toLowerCase())) merged.set(name.toLowerCase(), { name, values: [String(value)] });
  }
  return new Map([...merged.values()].map(({ name, values }) => [name, values]));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The local API Gateway: turns each HTTP request into a REST proxy event, finds the route in the route
 * table, calls the function's handler in-process and writes its result.
 */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<LocalHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? consoleLog();
  const match = createRouteMatcher(options.routes);
  const loadHandler = cachedLoader(options.loadHandler ?? importApiHandler);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = options.timeoutMs ?? INTEGRATION_TIMEOUT_MS;
  let port = options.port ?? 3000;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const started = Date.now();
    const method = (request.method ?? 'GET').toUpperCase();
    const url = request.url ?? '/';
    const matched = match(method, splitUrl(url).path);
    // The log names the route template, never the body, the query or the Authorization header.
    const label =
      matched.kind === 'not-found'
        ? splitUrl(url).path
        : matched.kind === 'found'
          ? matched.route.path
          : matched.resource;
    let requestId: string = randomUUID();
    const finish = (status: number) => log.info(`${method} ${label} ${status} ${Date.now() - started}ms`);

    let body: Buffer;
    try {
      body = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      writeProblem(
        response,
        {
          status: 413,
          code: 'PAYLOAD_TOO_LARGE',
          detail: `The request body exceeds ${maxBodyBytes} bytes.`,
        },
        requestId,
      );
      return finish(413);
    }
    if (matched.kind === 'not-found') {
      if (options.fallback && (await options.fallback(request, response, body))) {
        return finish(response.statusCode);
      }
      writeProblem(
        response,
        {
          status: 404,
          code: 'NOT_FOUND',
          detail: `No route matches ${method} ${label}.`,
        },
        requestId,
      );
      return finish(404);
    }
    if (matched.kind === 'method-not-allowed') {
      writeProblem(
        response,
        {
          status: 405,
          code: 'METHOD_NOT_ALLOWED',
          detail: `${method} is not allowed on ${matched.resource}; allowed: ${matched.allowed.join(', ')}.`,
          headers: { Allow: matched.allowed.join(', ') },
        },
        requestId,
      );
      return finish(405);
    }

    const localRequest: LocalRequest = {
      method,
      url,
      rawHeaders: request.rawHeaders,
      body,
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      host: request.headers.host ?? `${host}:${port}`,
      port,
    };
    let event = toApiGatewayEvent(localRequest, {
      resource: matched.route.path,
      pathParameters: matched.pathParameters,
    });
    requestId = event.requestContext.requestId;
    const functionName = `giftcard-${matched.route.fn}`;

    if (options.gateway) {
      const decision = await options.gateway.check(matched.route, event);
      if (decision.kind === 'refuse') {
        if (decision.error !== undefined) {
          log.error(
            `authorizer failed on ${method} ${label} (request ${requestId}): ${describe(decision.error)}`,
          );
        }
        const problem = gatewayResponse(decision.problem);
        writeProblem(response, problem, requestId);
        return finish(problem.status);
      }
      event = decision.event;
    }

    let result: unknown;
    try {
      const handler = await loadHandler(matched.route.fn);
      result = await withTimeout(handler(event, lambdaContext(functionName, timeoutMs)), timeoutMs);
    } catch (error) {
      log.error(`${functionName} failed on ${method} ${label} (request ${requestId}): ${describe(error)}`);
      writeProblem(response, internalError(requestId), requestId);
      return finish(500);
    }
    if (result === 'timeout') {
      writeProblem(
        response,
        {
          status: 504,
          code: 'INTERNAL',
          detail: `The function did not answer within ${timeoutMs} ms.`,
        },
        requestId,
      );
      return finish(504);
    }
    if (!isProxyResult(result)) {
      log.error(
        `${functionName} returned a malformed proxy response on ${method} ${label} (request ${requestId})`,
      );
      writeProblem(
        response,
        { status: 502, code: 'INTERNAL', detail: 'Malformed Lambda proxy response.' },
        requestId,
      );
      return finish(502);
    }
    const headers = responseHeaders(result);
    for (const [name, values] of headers)
      response.setHeader(name, values.length === 1 ? (values[0] ?? '') : values);
    if (![...headers.keys()].some((name) => name.toLowerCase() === 'x-amzn-requestid')) {
      response.setHeader('x-amzn-RequestId', requestId);
    }
    response.statusCode = result.statusCode;
    response.end(Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8'));
    return finish(result.statusCode);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error(`local server error: ${describe(error)}`);
      if (!response.headersSent) writeProblem(response, internalError('unknown'), 'unknown');
      else response.destroy();
    });
  });

  server.on('clientError', answerClientError);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? portInUseError(port, { service: 'HTTP API', option: '--port <port>' })
          : error,
      );
    });
    server.listen({ port, host }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const baseUrl = `http://${host}:${port}`;
  return {
    port,
    baseUrl,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function describe(error: unknown): string {
  if (error instanceof LocalRuntimeError) return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
