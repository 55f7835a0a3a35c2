/**
 * The one route table. CDK (lib/api-stack.ts) builds API Gateway resources and methods from it and the
 * local server (local/http-server.ts) dispatches with it, so the two cannot drift.
 *
 * `fn` names the Lambda function (and the module `functions/api/<fn>.ts`) that serves the route; each
 * module maps its routes to operations with `apiHandler`, which refuses to start if one is missing.
 * `access` says who may call: merchants (API keys, with scopes), staff roles (JWTs), everyone, or (Apple's
 * PassKit web service) the Wallet device holding the pass the path names, by its pass token
 * (`Authorization: ApplePass <token>`, checked against the stored hash: functions/http/pass-auth.ts).
 * `idempotency`: 'required' means a merchant must send Idempotency-Key (staff may); 'none' ignores it.
 * `rateLimit` (optional, via `limited`): the route checks codes or PINs, so its failed checks are counted
 * per caller and per merchant and a caller with too many is refused 429 RATE_LIMITED with Retry-After
 * (functions/http/rate-limit.ts, limits in functions/config.ts and on merchants and programs). Only such
 * routes read the counts; only failures write them.
 */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

import { type MerchantScope, STAFF_ROLES, type StaffRole } from '../core/access';
import { verbAccess } from '../core/card-policy';

export { MERCHANT_SCOPES, type MerchantScope, STAFF_ROLES, type StaffRole } from '../core/access';

export type RouteAccess =
  | { readonly public: true; readonly passToken?: false }
  /** Neither merchant nor staff: the pass's own token, for the pass named by `{serialNumber}`. */
  | { readonly passToken: true; readonly public?: false; readonly merchant?: never; readonly staff?: never }
  | {
      readonly public?: false;
      readonly passToken?: false;
      readonly merchant?: MerchantScope;
      readonly staff?: readonly StaffRole[];
      /** A loyalty member signed in (`Bearer ms_...`), acting on their own data only (functions/api/members.ts). */
      readonly member?: true;
    };

export const RATE_LIMIT_KINDS = ['lookup', 'pin'] as const;
/** `lookup`: balance inquiries by code; `pin`: PIN routes. Both count against the same failed-check limits. */
export type RateLimitKind = (typeof RATE_LIMIT_KINDS)[number];

export type ApiFunctionName =
  | 'system'
  | 'programs'
  | 'merchants'
  | 'cards'
  | 'transactions'
  | 'webhooks'
  | 'fraud'
  | 'reports'
  | 'exports'
  | 'wallet'
  | 'google-wallet'
  | 'portal'
  | 'care'
  | 'ops'
  | 'loyalty'
  | 'members'
  | 'production'
  | 'bulk'
  | 'delivery';

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly fn: ApiFunctionName;
  readonly access: RouteAccess;
  readonly idempotency: 'required' | 'none';
  readonly rateLimit?: RateLimitKind;
}

const ALL_STAFF = STAFF_ROLES;
const CARE = ['admin', 'support'] as const satisfies readonly StaffRole[];
const ADMIN = ['admin'] as const satisfies readonly StaffRole[];
const FINANCE = ['admin', 'finance'] as const satisfies readonly StaffRole[];
const PRODUCTION = ['admin', 'ops'] as const satisfies readonly StaffRole[];
const PASS_TOKEN = { passToken: true } as const;
const PUBLIC = { public: true } as const;
const MEMBER = { member: true } as const;

const route = (
  method: HttpMethod,
  path: string,
  fn: ApiFunctionName,
  access: RouteAccess,
  idempotency: 'required' | 'none' = method === 'POST' ? 'required' : 'none',
): RouteDefinition => ({ method, path, fn, access, idempotency });

/** The route with a rate limit of this kind. */
const limited = (rateLimit: RateLimitKind, definition: RouteDefinition): RouteDefinition => ({
  ...definition,
  rateLimit,
});

/** Routes of card verbs take their callers from the card-verb policy (functions/core/card-policy.ts). */
export const ROUTES: readonly RouteDefinition[] = [
  route('GET', '/health', 'system', { public: true }),
  route('GET', '/openapi.json', 'system', { public: true }),
  route('GET', '/docs', 'system', { public: true }),

  route('POST', '/v1/programs', 'programs', { staff: ADMIN }),
  route('GET', '/v1/programs', 'programs', { staff: ALL_STAFF }),
  route('GET', '/v1/programs/{programId}', 'programs', { staff: ALL_STAFF }),
  route('PATCH', '/v1/programs/{programId}', 'programs', { staff: ADMIN }),

  route('POST', '/v1/merchants', 'merchants', { staff: ADMIN }),
  route('GET', '/v1/merchants', 'merchants', { staff: ['admin', 'support', 'ops'] }),
  route('GET', '/v1/merchants/{merchantId}', 'merchants', { staff: ['admin', 'support', 'ops'] }),
  route('PATCH', '/v1/merchants/{merchantId}', 'merchants', { staff: ADMIN }),
  route('POST', '/v1/merchants/{merchantId}/api-keys', 'merchants', { staff: ADMIN }),
  route('GET', '/v1/merchants/{merchantId}/api-keys', 'merchants', { staff: ['admin', 'ops'] }),
  route('POST', '/v1/merchants/{merchantId}/api-keys/{keyId}/rotate', 'merchants', { staff: ADMIN }),
  route('DELETE', '/v1/merchants/{merchantId}/api-keys/{keyId}', 'merchants', { staff: ADMIN }),

  route('POST', '/v1/cards', 'cards', { merchant: 'cards:issue', staff: CARE }),
  route('GET', '/v1/cards', 'cards', { staff: ALL_STAFF }),
  limited(
    'lookup',
    route('POST', '/v1/cards/lookup', 'cards', { merchant: 'cards:read', staff: CARE }, 'none'),
  ),
  route('GET', '/v1/cards/{cardId}', 'cards', { merchant: 'cards:read', staff: ALL_STAFF }),
  route('POST', '/v1/cards/{cardId}/activate', 'cards', verbAccess('ACTIVATE')),
  // The till scans a physical card and sells it: found by its code, so limited like a lookup.
  limited('lookup', route('POST', '/v1/cards/activate', 'cards', verbAccess('ACTIVATE'))),
  route('POST', '/v1/cards/{cardId}/load', 'cards', verbAccess('LOAD')),
  route('POST', '/v1/cards/{cardId}/redeem', 'cards', verbAccess('REDEEM')),
  route('POST', '/v1/cards/{cardId}/adjust', 'cards', verbAccess('ADJUST')),
  route('POST', '/v1/cards/{cardId}/block', 'cards', verbAccess('BLOCK')),
  route('POST', '/v1/cards/{cardId}/unblock', 'cards', verbAccess('UNBLOCK')),
  route('POST', '/v1/cards/{cardId}/deactivate', 'cards', verbAccess('DEACTIVATE')),
  route('GET', '/v1/cards/{cardId}/transactions', 'cards', { merchant: 'cards:read', staff: ALL_STAFF }),
  route('POST', '/v1/cards/{cardId}/refund', 'cards', verbAccess('REFUND')),
  route('POST', '/v1/cards/{cardId}/holds', 'cards', verbAccess('HOLD')),
  route('GET', '/v1/cards/{cardId}/holds', 'cards', { merchant: 'cards:read', staff: ALL_STAFF }),
  route('GET', '/v1/cards/{cardId}/holds/{holdId}', 'cards', { merchant: 'cards:read', staff: ALL_STAFF }),
  route('POST', '/v1/cards/{cardId}/holds/{holdId}/capture', 'cards', verbAccess('CAPTURE')),
  route('POST', '/v1/cards/{cardId}/holds/{holdId}/void', 'cards', verbAccess('VOID')),
  route('POST', '/v1/cards/{cardId}/transfer', 'cards', verbAccess('TRANSFER')),
  route('POST', '/v1/cards/{cardId}/cash-out', 'cards', verbAccess('CASH_OUT')),
  limited('pin', route('PUT', '/v1/cards/{cardId}/pin', 'cards', verbAccess('PIN_SET'))),
  limited(
    'pin',
    route(
      'POST',
      '/v1/cards/{cardId}/pin/verify',
      'cards',
      { merchant: 'cards:transact', staff: CARE },
      'none',
    ),
  ),
  route('POST', '/v1/cards/{cardId}/pin/reset', 'cards', verbAccess('PIN_RESET')),
  route('POST', '/v1/cards/{cardId}/reissue', 'cards', verbAccess('REISSUE')),

  route('GET', '/v1/transactions/{transactionId}', 'transactions', {
    merchant: 'cards:read',
    staff: ALL_STAFF,
  }),
  route('POST', '/v1/transactions/{transactionId}/reverse', 'transactions', verbAccess('REVERSE')),
  route('POST', '/v1/reversals', 'transactions', verbAccess('REVERSE')),

  // Webhooks: a merchant manages its own endpoints (an endpoint only receives what cards:read could read);
  // staff admin and ops see any merchant's (?merchantId=) and their deliveries; admin may delete one.
  route('POST', '/v1/webhooks', 'webhooks', { merchant: 'cards:read' }),
  route('GET', '/v1/webhooks', 'webhooks', { merchant: 'cards:read', staff: ['admin', 'ops'] }),
  route('DELETE', '/v1/webhooks/{webhookId}', 'webhooks', { merchant: 'cards:read', staff: ADMIN }),
  route('POST', '/v1/webhooks/{webhookId}/rotate-secret', 'webhooks', { merchant: 'cards:read' }),
  route('GET', '/v1/webhooks/{webhookId}/deliveries', 'webhooks', {
    merchant: 'cards:read',
    staff: ['admin', 'ops'],
  }),
  route(
    'POST',
    '/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry',
    'webhooks',
    { merchant: 'cards:read', staff: ['admin', 'ops'] },
    'none',
  ),

  // Google Wallet: the card's save link (same callers as GET /v1/cards/{cardId}).
  route('GET', '/v1/cards/{cardId}/wallet/google', 'google-wallet', {
    merchant: 'cards:read',
    staff: ALL_STAFF,
  }),

  // Apple Wallet: the card's pass (same callers as GET /v1/cards/{cardId}); retailer messages to passes
  // (staff care; a merchant for cards of its programs with cards:transact: a message notifies the holder's
  // device, more than a read-only key should do).
  route('GET', '/v1/cards/{cardId}/wallet/apple', 'wallet', { merchant: 'cards:read', staff: ALL_STAFF }),
  route('POST', '/v1/cards/{cardId}/wallet/messages', 'wallet', { merchant: 'cards:transact', staff: CARE }),
  route('POST', '/v1/programs/{programId}/wallet/messages', 'wallet', { staff: CARE }),
  // Apple's PassKit web service (the pass's webServiceURL is <base>/wallet/apple), exactly as Apple calls it.
  route(
    'POST',
    '/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}',
    'wallet',
    PASS_TOKEN,
    'none',
  ),
  route(
    'DELETE',
    '/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}',
    'wallet',
    PASS_TOKEN,
  ),
  route(
    'GET',
    '/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}',
    'wallet',
    { public: true },
  ),
  route('GET', '/wallet/apple/v1/passes/{passTypeIdentifier}/{serialNumber}', 'wallet', PASS_TOKEN),
  route('HEAD', '/wallet/apple/v1/passes/{passTypeIdentifier}/{serialNumber}', 'wallet', PASS_TOKEN),
  route('POST', '/wallet/apple/v1/log', 'wallet', { public: true }, 'none'),

  // Fraud alerts raised by the fraud rules stream consumer; support works them.
  route('GET', '/v1/fraud/alerts', 'fraud', { staff: CARE }),
  route('GET', '/v1/fraud/alerts/{alertId}', 'fraud', { staff: CARE }),
  route('POST', '/v1/fraud/alerts/{alertId}/acknowledge', 'fraud', { staff: CARE }),
  route('POST', '/v1/fraud/alerts/{alertId}/resolve', 'fraud', { staff: CARE }),

  // Finance reports (aggregates kept by the reporting stream consumer) and the read-only audit trail.
  route('GET', '/v1/reports/summary', 'reports', { staff: FINANCE }),
  route('GET', '/v1/reports/daily', 'reports', { staff: FINANCE }),
  route('GET', '/v1/reports/breakage', 'reports', { staff: FINANCE }),
  route('GET', '/v1/reports/bulk-invoices', 'reports', { staff: FINANCE }),
  route('GET', '/v1/audit', 'reports', { staff: ['admin', 'finance', 'support'] }),
  // Finance exports to S3 (balances, journal, liability summary); the monthly schedule runs them too.
  route('POST', '/v1/exports', 'exports', { staff: FINANCE }),
  route('GET', '/v1/exports', 'exports', { staff: FINANCE }),
  route('GET', '/v1/exports/{exportId}', 'exports', { staff: FINANCE }),

  // The card-holder portal (web/portal): public, by code and PIN, limited per caller IP and per card like
  // lookups; every miss answers alike (functions/api/portal.ts). Wallet links carry a 15-minute token.
  limited('lookup', route('POST', '/v1/portal/balance', 'portal', PUBLIC, 'none')),
  // The transfer moves value: the browser sends an Idempotency-Key per submission (kept across its retries).
  limited('pin', route('POST', '/v1/portal/transfer', 'portal', PUBLIC)),
  route('GET', '/v1/portal/wallet/apple/{walletToken}', 'portal', PUBLIC),
  route('GET', '/v1/portal/wallet/google/{walletToken}', 'portal', PUBLIC),

  // Loyalty (issue #17). Staff configure programs, rewards and promotions and read the loyalty report;
  // card holders register and sign in with a one-time code (public, every miss alike), then act as a
  // member (`Bearer ms_...`) on their own data only: every member route names `me`, never another member.
  route('POST', '/v1/loyalty/programs', 'loyalty', { staff: ADMIN }),
  route('GET', '/v1/loyalty/programs', 'loyalty', { staff: ALL_STAFF }),
  route('GET', '/v1/loyalty/programs/{loyaltyProgramId}', 'loyalty', { staff: ALL_STAFF }),
  route('GET', '/v1/loyalty/programs/{loyaltyProgramId}/members', 'loyalty', { staff: CARE }),
  route('GET', '/v1/loyalty/members/{memberId}', 'loyalty', { staff: CARE }),
  route('POST', '/v1/loyalty/programs/{loyaltyProgramId}/rewards', 'loyalty', { staff: ADMIN }),
  route('GET', '/v1/loyalty/programs/{loyaltyProgramId}/rewards', 'loyalty', { staff: ALL_STAFF }),
  route('POST', '/v1/loyalty/programs/{loyaltyProgramId}/promotions', 'loyalty', { staff: CARE }),
  route('GET', '/v1/loyalty/programs/{loyaltyProgramId}/promotions/{promotionId}', 'loyalty', {
    staff: CARE,
  }),
  route('GET', '/v1/reports/loyalty', 'loyalty', { staff: FINANCE }),
  route('POST', '/v1/loyalty/programs/{loyaltyProgramId}/members', 'members', PUBLIC),
  limited(
    'lookup',
    route('POST', '/v1/loyalty/programs/{loyaltyProgramId}/sign-in', 'members', PUBLIC, 'none'),
  ),
  limited('lookup', route('POST', '/v1/loyalty/sign-in/verify', 'members', PUBLIC, 'none')),
  route('GET', '/v1/members/me', 'members', MEMBER),
  route('DELETE', '/v1/members/me', 'members', MEMBER),
  route('GET', '/v1/members/me/export', 'members', MEMBER),
  route('GET', '/v1/members/me/points', 'members', MEMBER),
  route('POST', '/v1/members/me/sign-out', 'members', MEMBER, 'none'),
  route('POST', '/v1/members/me/sessions/revoke-all', 'members', MEMBER, 'none'),
  limited('lookup', route('POST', '/v1/members/me/cards', 'members', MEMBER)),
  route('GET', '/v1/members/me/cards', 'members', MEMBER),
  route('DELETE', '/v1/members/me/cards/{cardId}', 'members', MEMBER),
  route('GET', '/v1/members/me/rewards', 'members', MEMBER),
  route('POST', '/v1/members/me/rewards/{rewardId}/redeem', 'members', MEMBER),
  route('POST', '/v1/members/me/rewards/reversals', 'members', MEMBER),

  // Customer care's view of a card besides its ledger (web/console card page).
  route('GET', '/v1/cards/{cardId}/pin', 'care', { staff: ALL_STAFF }),
  route('GET', '/v1/cards/{cardId}/wallet/registrations', 'care', { staff: ALL_STAFF }),

  // Operations (web/console Ops page): dead-letter queue depths and the scheduled jobs' recent runs.
  route('GET', '/v1/ops/queues', 'ops', { staff: ['admin', 'ops'] }),
  route('GET', '/v1/ops/job-runs', 'ops', { staff: ['admin', 'ops'] }),

  // Physical card production (functions/api/production.ts, docs/production.md): admin registers printers;
  // admin and ops order cards, hand out the printer file's links (audited), and track cartons to stores.
  route('POST', '/v1/production/printers', 'production', { staff: ADMIN }),
  route('GET', '/v1/production/printers', 'production', { staff: PRODUCTION }),
  route('POST', '/v1/production/orders', 'production', { staff: PRODUCTION }),
  route('GET', '/v1/production/orders', 'production', { staff: PRODUCTION }),
  route('GET', '/v1/production/orders/{orderId}', 'production', { staff: PRODUCTION }),
  route('POST', '/v1/production/orders/{orderId}/resume', 'production', { staff: PRODUCTION }),
  route('POST', '/v1/production/orders/{orderId}/printed', 'production', { staff: PRODUCTION }),
  route('POST', '/v1/production/orders/{orderId}/downloads', 'production', { staff: PRODUCTION }, 'none'),
  route('GET', '/v1/production/orders/{orderId}/cartons', 'production', { staff: PRODUCTION }),
  route('POST', '/v1/production/orders/{orderId}/cartons/{carton}/deactivate', 'production', {
    staff: PRODUCTION,
  }),
  route('POST', '/v1/production/shipments', 'production', { staff: PRODUCTION }),
  route('GET', '/v1/production/shipments/{shipmentId}', 'production', { staff: PRODUCTION }),
  route('POST', '/v1/production/shipments/{shipmentId}/receive', 'production', { staff: PRODUCTION }),
  route('GET', '/v1/production/stores/{storeId}/inventory', 'production', { staff: PRODUCTION }),
  // Bulk issuance for business customers (issue #19): open a batch (an upload URL), submit the uploaded
  // file (validated whole, then run in the background), follow it, list the batches' invoice summaries.
  route('POST', '/v1/bulk-batches', 'bulk', { merchant: 'cards:issue', staff: CARE }),
  route('GET', '/v1/bulk-batches', 'bulk', { staff: ['admin', 'support', 'finance'] }),
  route('GET', '/v1/bulk-batches/{batchId}', 'bulk', {
    merchant: 'cards:issue',
    staff: ['admin', 'support', 'finance'],
  }),
  route(
    'POST',
    '/v1/bulk-batches/{batchId}/submit',
    'bulk',
    { merchant: 'cards:issue', staff: CARE },
    'none',
  ),

  // E-gift delivery (issue #19): an order issues a digital card and delivers it (now or at a time in the
  // recipient's zone) by a claim link; support resends it (audited), the orderer may move or cancel it
  // before it goes out. The claim link opens the portal, rate limited like lookups, every miss one 404.
  route('POST', '/v1/egift-orders', 'delivery', { merchant: 'cards:issue', staff: CARE }),
  route('GET', '/v1/cards/{cardId}/delivery', 'delivery', { merchant: 'cards:read', staff: ALL_STAFF }),
  route('PATCH', '/v1/cards/{cardId}/delivery', 'delivery', { merchant: 'cards:issue', staff: CARE }),
  route(
    'POST',
    '/v1/cards/{cardId}/delivery/cancel',
    'delivery',
    { merchant: 'cards:issue', staff: CARE },
    'none',
  ),
  route('POST', '/v1/cards/{cardId}/delivery/resend', 'delivery', { staff: CARE }, 'none'),
  limited('lookup', route('POST', '/v1/portal/claim', 'delivery', PUBLIC, 'none')),
];

/** `METHOD /path/{param}`: the key API Gateway gives a handler as httpMethod + resource. */
export const routeKey = (r: Pick<RouteDefinition, 'method' | 'path'>): string => `${r.method} ${r.path}`;

export const routesOf = (fn: ApiFunctionName): RouteDefinition[] => ROUTES.filter((r) => r.fn === fn);

export const API_FUNCTIONS: readonly ApiFunctionName[] = [...new Set(ROUTES.map((r) => r.fn))];
