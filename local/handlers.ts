import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import type { ApiFunctionName } from '../functions/http/route-table';
import type { AuthorizerHandler } from './gateway-auth';

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

export type ApiHandlerLoader = (fn: ApiFunctionName) => Promise<ApiHandler>;
export type StreamHandlerLoader = (module: string) => Promise<StreamHandler>;

async function importHandler(file: URL): Promise<unknown> {
  const module: unknown = await import(file.href);
  const handler = typeof module === 'object' && module !== null ? Reflect.get(module, 'handler') : undefined;
  if (typeof handler !== 'function') {
    throw new Error(`${file.pathname} does not export a handler function`);
  }
  return handler;
}

/** The real handlers, imported (once, by Node's module cache) on first use like a Lambda cold start. */
export const importApiHandler: ApiHandlerLoader = async (fn) =>
  (await importHandler(new URL(`../functions/api/${fn}.ts`, import.meta.url))) as ApiHandler;

/** The API Gateway authorizer (functions/http/authorizer.ts), for the local gateway. */
export const importAuthorizerHandler = async (): Promise<AuthorizerHandler> =>
  (await importHandler(new URL('../functions/http/authorizer.ts', import.meta.url))) as AuthorizerHandler;

export const importStreamHandler: StreamHandlerLoader = async (module) =>
  (await importHandler(new URL(`../functions/streams/${module}.ts`, import.meta.url))) as StreamHandler;

/** Caches what a loader returns so each function is imported once, even under concurrent first calls. */
export function cachedLoader<K, H>(load: (key: K) => Promise<H>): (key: K) => Promise<H> {
  const cache = new Map<K, Promise<H>>();
  return (key) => {
    let pending = cache.get(key);
    if (!pending) {
      pending = load(key);
      // A failed import (syntax error while someone edits the file) is retried on the next call.
      pending.catch(() => cache.delete(key));
      cache.set(key, pending);
    }
    return pending;
  };
}

const LOCAL_ACCOUNT = '000000000000';

/** A Lambda context as the runtime would pass it, with the function's deadline. */
export function lambdaContext(functionName: string, timeoutMs: number, region = 'us-east-1'): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = () => {
    throw new Error('done/fail/succeed are not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${today}/[$LATEST]${awsRequestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
