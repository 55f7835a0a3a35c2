import type { ErrorCode } from '../core/errors';
import type { RouteDefinition } from './route-table';

/**
 * What API Gateway does before any handler runs, shared by CDK (lib/api-stack.ts) and the local gateway
 * (local/http-server.ts, local/gateway-auth.ts).
 *
 * Routes merchants or staff call go through the authorizer (functions/http/authorizer.ts) and count
 * against a usage plan; public routes do neither.
 */
/** Members' routes (session tokens) are checked by their handlers, like Apple's PassKit web service. */
export const usesAuthorizer = (route: Pick<RouteDefinition, 'access'>): boolean =>
  !route.access.public && Boolean(route.access.merchant || route.access.staff?.length);

/**
 * Errors API Gateway answers itself (before any handler runs), in the handlers' own problem+json shape
 * (functions/http/problem.ts, RFC 9457), so a client sees one error format whoever refused it. CDK turns
 * each into a gateway response (lib/api-stack.ts); the local gateway (local/http-server.ts) answers the
 * same for the refusals it emulates (authorizer, usage plans). Header values are static: API Gateway
 * cannot compute them per request.
 */
export interface GatewayProblem {
  /** CDK construct id. */
  readonly id: string;
  /** API Gateway gateway response type. */
  readonly type: string;
  readonly code: ErrorCode;
  readonly detail: string;
  /** When it differs from the code's status. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export const GATEWAY_PROBLEMS = [
  // API Gateway answers an unknown path, or a method a path does not have, with 403 "Missing Authentication Token".
  {
    id: 'UnknownRoute',
    type: 'MISSING_AUTHENTICATION_TOKEN',
    code: 'NOT_FOUND',
    detail: 'No route matches this method and path.',
  },
  // The authorizer refused the credential, or there was no Authorization header at all.
  {
    id: 'Unauthorized',
    type: 'UNAUTHORIZED',
    code: 'UNAUTHENTICATED',
    detail: 'Send a valid API key or staff token as `Authorization: Bearer <token>`.',
    headers: { 'WWW-Authenticate': 'Bearer' },
  },
  {
    id: 'AccessDenied',
    type: 'ACCESS_DENIED',
    code: 'FORBIDDEN',
    detail: 'This credential may not call this API.',
  },
  // The caller's usage key is in no usage plan (a merchant stored before usage plans, or mid-move).
  {
    id: 'InvalidApiKey',
    type: 'INVALID_API_KEY',
    code: 'FORBIDDEN',
    detail: 'This merchant has no usage plan; an admin assigns one with PATCH /v1/merchants/{merchantId}.',
  },
  // Usage plan throttle: the plan's token bucket refills every second.
  {
    id: 'Throttled',
    type: 'THROTTLED',
    code: 'RATE_LIMITED',
    detail: "Too many requests for this caller's usage plan; retry later.",
    headers: { 'Retry-After': '1' },
  },
  // The daily quota resets at 00:00 UTC; a static header cannot say how far away that is.
  {
    id: 'QuotaExceeded',
    type: 'QUOTA_EXCEEDED',
    code: 'RATE_LIMITED',
    detail: "The daily request quota of this caller's usage plan is used up; it renews at 00:00 UTC.",
  },
  {
    id: 'WafFiltered',
    type: 'WAF_FILTERED',
    code: 'FORBIDDEN',
    detail: 'The request was refused by the firewall.',
  },
  {
    id: 'BadRequestBody',
    type: 'BAD_REQUEST_BODY',
    code: 'VALIDATION_FAILED',
    detail: 'The request body is not valid.',
  },
  {
    id: 'BadRequestParameters',
    type: 'BAD_REQUEST_PARAMETERS',
    code: 'VALIDATION_FAILED',
    detail: 'A required request parameter is missing.',
  },
  {
    id: 'RequestTooLarge',
    type: 'REQUEST_TOO_LARGE',
    code: 'PAYLOAD_TOO_LARGE',
    detail: 'The request is too large.',
  },
  {
    id: 'UnsupportedMediaType',
    type: 'UNSUPPORTED_MEDIA_TYPE',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    detail: 'The content type is not supported.',
  },
  {
    id: 'IntegrationTimeout',
    type: 'INTEGRATION_TIMEOUT',
    code: 'INTERNAL',
    detail: 'The request timed out.',
    status: 504,
  },
  {
    id: 'AuthorizerFailure',
    type: 'AUTHORIZER_FAILURE',
    code: 'INTERNAL',
    detail: 'The request could not be authenticated because of an error on our side; retry.',
  },
  {
    id: 'AuthorizerConfigurationError',
    type: 'AUTHORIZER_CONFIGURATION_ERROR',
    code: 'INTERNAL',
    detail: 'The request could not be authenticated because of an error on our side; retry.',
  },
  // Anything else on the gateway side is a bare 500: no internals.
  {
    id: 'Default5xx',
    type: 'DEFAULT_5XX',
    code: 'INTERNAL',
    detail: 'An internal error occurred.',
  },
] as const satisfies readonly GatewayProblem[];

export type GatewayProblemType = (typeof GATEWAY_PROBLEMS)[number]['type'];

export function gatewayProblem(type: GatewayProblemType): GatewayProblem {
  const found = GATEWAY_PROBLEMS.find((problem) => problem.type === type);
  if (!found) throw new Error(`No gateway problem ${type}`);
  return found;
}
