import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { type BucketState, takeToken } from '../functions/core/token-bucket';
import {
  AUTHORIZER_CACHE_SECONDS,
  USAGE_PLAN_TIERS,
  type UsagePlans,
  type UsagePlanTier,
} from '../functions/core/usage-plans';
import { type GatewayProblemType, usesAuthorizer } from '../functions/http/gateway';
import type { RouteDefinition } from '../functions/http/route-table';

export type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEvent,
) => Promise<APIGatewayAuthorizerResult>;

export interface GatewayAuthOptions {
  /** The real authorizer (functions/http/authorizer.ts), loaded once the handlers' environment is set. */
  readonly loadAuthorizer: () => Promise<AuthorizerHandler>;
  /** The usage plans, from the same definitions CDK deploys (functions/core/usage-plans.ts). */
  readonly plans: UsagePlans;
  /** Default AUTHORIZER_CACHE_SECONDS, as deployed. */
  readonly cacheSeconds?: number;
  readonly now?: () => number;
}

export type GatewayDecision =
  | { readonly kind: 'pass'; readonly event: APIGatewayProxyEvent }
  | { readonly kind: 'refuse'; readonly problem: GatewayProblemType; readonly error?: unknown };

interface CachedAnswer {
  readonly result: Promise<APIGatewayAuthorizerResult | 'unauthorized'>;
  until: number;
}

interface KeyUsage {
  bucket: BucketState | undefined;
  day: string;
  count: number;
}

/**
 * What API Gateway does in front of the handlers for routes with the authorizer, emulated for `npm
 * start` and the tests: call the REQUEST authorizer (the real one) with the Authorization header, cache
 * its answer per header value for the deployed TTL, refuse as the gateway responses say (401, 403, 500),
 * then count the request under the usage key the authorizer named, against the usage plan of its tier:
 * a token bucket (rate, burst) and a daily quota (UTC days), as API Gateway does, answering 429 over
 * either. The handler then sees the authorizer's context and the key in `requestContext`, as in AWS.
 *
 * One difference: API Gateway knows each key's plan from its own records (the merchants function keeps
 * them), this reads the tier from the authorizer's answer, so a tier change shows here once the cached
 * answer expires.
 */
export function createGatewayAuth(options: GatewayAuthOptions) {
  const now = options.now ?? Date.now;
  const cacheMs = (options.cacheSeconds ?? AUTHORIZER_CACHE_SECONDS) * 1000;
  const answers = new Map<string, CachedAnswer>();
  const usage = new Map<string, KeyUsage>();

  /** One authorizer call per header value at a time: parallel first requests share it, as a warm cache would. */
  function authorize(
    authorization: string,
    event: APIGatewayProxyEvent,
  ): Promise<APIGatewayAuthorizerResult | 'unauthorized'> {
    const cached = answers.get(authorization);
    if (cached && cached.until > now()) return cached.result;
    const entry: CachedAnswer = {
      result: (async () => {
        const authorizer = await options.loadAuthorizer();
        try {
          return await authorizer(authorizerEvent(event));
        } catch (error) {
          if (error instanceof Error && error.message === 'Unauthorized') return 'unauthorized' as const;
          throw error;
        }
      })(),
      // Held while pending; kept for the TTL once answered; a failure is not kept.
      until: Number.POSITIVE_INFINITY,
    };
    if (answers.size > 10_000) answers.clear();
    answers.set(authorization, entry);
    entry.result.then(
      () => {
        entry.until = now() + cacheMs;
      },
      () => answers.delete(authorization),
    );
    return entry.result;
  }

  /** The usage plan's verdict on one more request under `key`. */
  function meter(key: string, tier: UsagePlanTier): GatewayProblemType | undefined {
    const limits = options.plans[tier];
    const at = now();
    const day = new Date(at).toISOString().slice(0, 10);
    const entry = usage.get(key) ?? { bucket: undefined, day, count: 0 };
    usage.set(key, entry);
    const decision = takeToken(
      entry.bucket,
      { capacity: limits.burstLimit, refillPerSecond: limits.rateLimit },
      at,
    );
    if (!decision.allowed) return 'THROTTLED';
    entry.bucket = decision.state;
    if (entry.day !== day) {
      entry.day = day;
      entry.count = 0;
    }
    if (entry.count >= limits.dailyQuota) return 'QUOTA_EXCEEDED';
    entry.count += 1;
    return undefined;
  }

  return {
    async check(route: RouteDefinition, event: APIGatewayProxyEvent): Promise<GatewayDecision> {
      if (!usesAuthorizer(route)) return { kind: 'pass', event };
      // API Gateway does not call the authorizer without its identity source.
      const authorization = headerOf(event, 'authorization');
      if (!authorization) return { kind: 'refuse', problem: 'UNAUTHORIZED' };
      let result: APIGatewayAuthorizerResult | 'unauthorized';
      try {
        // Parallel first requests share one authorizer call here, where API Gateway would make one each:
        // a failure of the shared call gets one more (shared) try instead of failing every request.
        result = await authorize(authorization, event).catch(() => authorize(authorization, event));
      } catch (error) {
        return { kind: 'refuse', problem: 'AUTHORIZER_FAILURE', error };
      }
      if (result === 'unauthorized') return { kind: 'refuse', problem: 'UNAUTHORIZED' };
      const allowed = result.policyDocument.Statement.some(
        (statement) => statement.Effect === 'Allow' && 'Action' in statement,
      );
      if (!allowed) return { kind: 'refuse', problem: 'ACCESS_DENIED' };
      const key = result.usageIdentifierKey;
      const tier = USAGE_PLAN_TIERS.find((candidate) => candidate === result.context?.usagePlan);
      if (!key || !tier) return { kind: 'refuse', problem: 'INVALID_API_KEY' };
      const refused = meter(key, tier);
      if (refused) return { kind: 'refuse', problem: refused };
      return {
        kind: 'pass',
        event: {
          ...event,
          requestContext: {
            ...event.requestContext,
            authorizer: { ...result.context, principalId: result.principalId },
            identity: { ...event.requestContext.identity, apiKey: key, apiKeyId: `local-${tier}` },
          },
        },
      };
    },
  };
}

export type LocalGatewayAuth = ReturnType<typeof createGatewayAuth>;

function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const found = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
  return found?.trim() ? found : undefined;
}

/** The REQUEST authorizer event API Gateway sends for a proxy request. */
function authorizerEvent(event: APIGatewayProxyEvent): APIGatewayRequestAuthorizerEvent {
  const { requestContext } = event;
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:${requestContext.accountId}:${requestContext.apiId}/${requestContext.stage}/${event.httpMethod}${event.path}`,
    resource: event.resource,
    path: event.path,
    httpMethod: event.httpMethod,
    headers: event.headers,
    multiValueHeaders: event.multiValueHeaders,
    pathParameters: event.pathParameters,
    queryStringParameters: event.queryStringParameters,
    multiValueQueryStringParameters: event.multiValueQueryStringParameters,
    stageVariables: event.stageVariables,
    requestContext: { ...requestContext, authorizer: undefined },
  } as APIGatewayRequestAuthorizerEvent;
}
