/**
 * API Gateway usage plans: how many requests a caller may send, per second (a token bucket with a rate
 * and a burst) and per day (a quota). Each merchant is on one merchant tier; every staff user shares the
 * staff plan. CDK (lib/api-stack.ts) creates one API Gateway usage plan per tier from these figures (a
 * region may override them in cdk.json), and the local runtime (local/usage-plans.ts) enforces the same
 * figures, since there is no API Gateway under `npm start`.
 *
 * These are a per-client fairness and cost guard in front of everything; the per-key and per-card token
 * buckets of the route table (lookups, PIN checks) still apply behind them.
 */
export const MERCHANT_USAGE_PLANS = ['standard', 'high-volume'] as const;
export type MerchantUsagePlan = (typeof MERCHANT_USAGE_PLANS)[number];
export const USAGE_PLAN_TIERS = [...MERCHANT_USAGE_PLANS, 'staff'] as const;
export type UsagePlanTier = (typeof USAGE_PLAN_TIERS)[number];

/** A merchant created without a tier, or stored before tiers existed. */
export const DEFAULT_MERCHANT_USAGE_PLAN: MerchantUsagePlan = 'standard';

export interface UsagePlanLimits {
  /** Steady requests per second (API Gateway `throttle.rateLimit`; may be a fraction). */
  readonly rateLimit: number;
  /** Requests that may come at once (API Gateway `throttle.burstLimit`). */
  readonly burstLimit: number;
  /** Requests per UTC day (API Gateway `quota`, period DAY). */
  readonly dailyQuota: number;
}

export type UsagePlans = Readonly<Record<UsagePlanTier, UsagePlanLimits>>;
export type UsagePlanOverrides = Partial<Record<UsagePlanTier, Partial<UsagePlanLimits>>>;

/**
 * Defaults: a shop or a small chain fits in `standard` (100 requests a second is a busy Saturday for
 * a few hundred tills); a national retailer or a marketplace gets `high-volume`. Staff use the console:
 * people clicking, plus exports and searches.
 */
export const DEFAULT_USAGE_PLANS: UsagePlans = {
  standard: { rateLimit: 100, burstLimit: 200, dailyQuota: 2_000_000 },
  'high-volume': { rateLimit: 1_000, burstLimit: 2_000, dailyQuota: 50_000_000 },
  staff: { rateLimit: 50, burstLimit: 100, dailyQuota: 500_000 },
};

/** The plans with a deployment's overrides applied field by field. */
export function usagePlans(overrides: UsagePlanOverrides = {}): UsagePlans {
  const plans = Object.fromEntries(
    USAGE_PLAN_TIERS.map((tier) => [tier, { ...DEFAULT_USAGE_PLANS[tier], ...overrides[tier] }]),
  ) as Record<UsagePlanTier, UsagePlanLimits>;
  for (const [tier, limits] of Object.entries(plans)) {
    for (const [field, value] of Object.entries(limits)) {
      const valid = field === 'rateLimit' ? value > 0 : Number.isInteger(value) && value >= 1;
      if (!valid || !Number.isFinite(value)) {
        throw new RangeError(
          `Usage plan ${tier}: ${field} must be a positive ${field === 'rateLimit' ? 'number' : 'integer'} (got ${value}).`,
        );
      }
    }
  }
  return plans;
}

/** The API Gateway usage plan name of a tier: `<prefix>-<tier>` (the merchants function finds plans by it). */
export const usagePlanName = (prefix: string, tier: UsagePlanTier): string => `${prefix}-${tier}`;

/**
 * How long API Gateway keeps an authorizer answer per Authorization header. Short, and safe at any
 * length: the handlers authenticate every request again (a revoked key is refused at once), so the cache
 * only saves authorizer invocations and lets a dead credential reach a handler (and be refused there)
 * for at most this long. A merchant's usage key never changes, so cached answers count requests right.
 */
export const AUTHORIZER_CACHE_SECONDS = 30;
