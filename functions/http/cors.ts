import type { APIGatewayProxyResult } from 'aws-lambda';
import { config } from '../config';

/**
 * CORS for the web apps' origin (CORS_ALLOWED_ORIGIN, set by lib/api-stack.ts): an answer to a request
 * from that origin says so; any other origin gets no CORS header, so browsers elsewhere cannot read it.
 */
export function withCors(origin: string | undefined, result: APIGatewayProxyResult): APIGatewayProxyResult {
  const allowed = corsOrigin();
  if (!allowed) return result;
  return {
    ...result,
    headers: {
      ...result.headers,
      Vary: 'Origin',
      ...(origin === allowed
        ? {
            'Access-Control-Allow-Origin': allowed,
            'Access-Control-Expose-Headers': 'Retry-After, Idempotent-Replayed, X-Request-Id',
          }
        : {}),
    },
  };
}

/**
 * The configured origin, or none. A configuration that does not parse is the operation's problem (its
 * reads fail with the reason); the CORS header alone never turns an answer into an error, and the system
 * function's health check needs no configuration at all.
 */
function corsOrigin(): string | undefined {
  try {
    return config().CORS_ALLOWED_ORIGIN;
  } catch {
    return undefined;
  }
}
