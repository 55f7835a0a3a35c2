import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventHeaders,
} from 'aws-lambda';
import { config } from '../config';
import { DomainError } from '../core/errors';
import { DEFAULT_MERCHANT_USAGE_PLAN, type UsagePlanTier } from '../core/usage-plans';
import { logger } from '../logger';
import { settleLastUseWrites } from '../store/api-keys';
import { authenticate, type Principal } from './auth';

/**
 * The API Gateway REQUEST authorizer. Its one job is usage plans: the REST API takes API keys from the
 * authorizer (`apiKeySource: AUTHORIZER`), so this names, for each caller, the API Gateway API key its
 * requests count against (`usageIdentifierKey`): the merchant's usage key for an API key, the staff
 * plan's key for a staff token. Merchants keep sending `Authorization: Bearer <api key>`.
 *
 * It checks the credential with the handlers' own code (functions/http/auth.ts), so a bad one never
 * reaches a function (401). API Gateway caches the answer per Authorization header for a short while
 * (AUTHORIZER_CACHE_SECONDS in functions/core/usage-plans.ts), which is why the policy allows the whole API and not one
 * method, and why it is not the last word: every handler authenticates and authorises again, so a
 * revoked key is refused at once (within the handlers' AUTH_CACHE_SECONDS) even while the gateway still
 * holds an Allow for it. The cache saves invocations; it never extends a credential's life.
 */
export interface AuthorizerContext {
  readonly principalType: 'merchant' | 'staff';
  /** The tier the caller's requests count against (API Gateway knows it from the key; the local gateway reads it here). */
  readonly usagePlan: UsagePlanTier;
  readonly merchantId?: string;
  readonly keyId?: string;
  /**
   * The merchant's programs, comma-separated: handlers start reading them alongside the API key on a cold
   * request. A hint only, possibly as old as the gateway's cached answer; access follows the merchant item.
   */
  readonly programIds?: string;
  readonly sub?: string;
}

/** API Gateway answers 401 (gateway response UNAUTHORIZED) to exactly this error. */
const UNAUTHORIZED = 'Unauthorized';

function header(headers: APIGatewayRequestAuthorizerEventHeaders | null, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

/** `arn:...:<api>/<stage>/<METHOD>/<path>` -> `arn:...:<api>/<stage>/*`: a cached Allow fits every route. */
export function wholeApiArn(methodArn: string): string {
  const [api, stage] = methodArn.split('/');
  return `${api}/${stage}/*`;
}

function usageOf(principal: Exclude<Principal, { type: 'anonymous' | 'pass' | 'member' }>): {
  usageIdentifierKey: string | undefined;
  context: AuthorizerContext;
} {
  if (principal.type === 'merchant') {
    return {
      // A merchant stored before usage plans has none until an admin PATCHes it or the usage-keys job runs
      // (functions/scheduled/usage-keys.ts): API Gateway answers 403 until then.
      usageIdentifierKey: principal.merchant.usageIdentifier,
      context: {
        principalType: 'merchant',
        usagePlan: principal.merchant.usagePlan ?? DEFAULT_MERCHANT_USAGE_PLAN,
        merchantId: principal.merchant.id,
        keyId: principal.key.id,
        ...(principal.merchant.programIds.length > 0
          ? { programIds: principal.merchant.programIds.join(',') }
          : {}),
      },
    };
  }
  return {
    usageIdentifierKey: config().STAFF_USAGE_KEY,
    context: { principalType: 'staff', usagePlan: 'staff', sub: principal.sub },
  };
}

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  let principal: Principal;
  try {
    principal = await authenticate(header(event.headers, 'authorization'));
  } catch (error) {
    if (error instanceof DomainError) throw new Error(UNAUTHORIZED);
    // Anything else (the table unreachable) is the gateway's 500, and is not cached as a refusal.
    logger.error('Authorizer failed', { error: error as Error });
    throw error;
  }
  // The key's last-use write runs alongside; it finishes within this invocation.
  await settleLastUseWrites();
  // Wallet devices use PassKit routes, which have no authorizer: an ApplePass token is no credential here.
  // Members' routes have no authorizer either (functions/http/gateway.ts): their handlers check the session.
  if (principal.type === 'anonymous' || principal.type === 'pass' || principal.type === 'member') {
    throw new Error(UNAUTHORIZED);
  }
  const { usageIdentifierKey, context } = usageOf(principal);
  return {
    principalId:
      principal.type === 'merchant' ? `merchant:${principal.merchant.id}` : `staff:${principal.sub}`,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: wholeApiArn(event.methodArn) }],
    },
    ...(usageIdentifierKey ? { usageIdentifierKey } : {}),
    context: { ...context },
  };
}
