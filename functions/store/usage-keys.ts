import {
  APIGatewayClient,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  NotFoundException,
} from '@aws-sdk/client-api-gateway';
import { config } from '../config';
import type { Merchant } from '../core/merchant';
import {
  DEFAULT_MERCHANT_USAGE_PLAN,
  MERCHANT_USAGE_PLANS,
  type MerchantUsagePlan,
  USAGE_PLAN_TIERS,
  type UsagePlanTier,
  usagePlanName,
} from '../core/usage-plans';
import { traced } from '../observability/tracer';

/**
 * A merchant's API Gateway API key: named after the merchant, its value the merchant's random usage
 * identifier (never the merchant's own API keys), a member of exactly one merchant tier's usage plan.
 * The authorizer returns the identifier as `usageIdentifierKey`, so API Gateway counts every request of
 * every key of the merchant against that plan.
 *
 * Only in AWS (USAGE_PLAN_PREFIX set): locally there is no API Gateway and the local gateway reads the
 * tier from the authorizer's context. Every step is idempotent (found before created, conflicts and
 * missing memberships ignored), so a failed call is healed by running it again: the retry of the
 * request, or any later PATCH of the merchant.
 */
let client: APIGatewayClient | undefined;
let planIds: Promise<Record<UsagePlanTier, string>> | undefined;

function apiGateway(): APIGatewayClient {
  client ??= traced(new APIGatewayClient({ region: config().AWS_REGION, maxAttempts: 4 }));
  return client;
}

/** The usage plan id of each tier, found by name once per warm function. */
function usagePlanIds(prefix: string): Promise<Record<UsagePlanTier, string>> {
  planIds ??= (async () => {
    const found: Partial<Record<UsagePlanTier, string>> = {};
    let position: string | undefined;
    do {
      const page = await apiGateway().send(new GetUsagePlansCommand({ limit: 500, position }));
      for (const plan of page.items ?? []) {
        const tier = USAGE_PLAN_TIERS.find((candidate) => plan.name === usagePlanName(prefix, candidate));
        if (tier && plan.id) found[tier] = plan.id;
      }
      position = page.position;
    } while (position);
    const missing = USAGE_PLAN_TIERS.filter((tier) => !found[tier]);
    if (missing.length > 0)
      throw new Error(`Usage plans not found: ${missing.map((t) => usagePlanName(prefix, t))}`);
    return found as Record<UsagePlanTier, string>;
  })().catch((error: unknown) => {
    planIds = undefined;
    throw error;
  });
  return planIds;
}

async function findApiKeyId(name: string): Promise<string | undefined> {
  const out = await apiGateway().send(new GetApiKeysCommand({ nameQuery: name, limit: 500 }));
  return out.items?.find((key) => key.name === name)?.id;
}

async function ensureApiKey(merchant: Pick<Merchant, 'id' | 'usageIdentifier'>): Promise<string> {
  const existing = await findApiKeyId(merchant.id);
  if (existing) return existing;
  try {
    const created = await apiGateway().send(
      new CreateApiKeyCommand({
        name: merchant.id,
        value: merchant.usageIdentifier,
        enabled: true,
        description: 'Usage plan key of a merchant (counts its requests; not a credential)',
      }),
    );
    if (!created.id) throw new Error('CreateApiKey returned no id');
    return created.id;
  } catch (error) {
    // A parallel call created it first.
    const raced = error instanceof ConflictException ? await findApiKeyId(merchant.id) : undefined;
    if (raced) return raced;
    throw error;
  }
}

/**
 * Puts the merchant's usage key in its tier's plan and in no other merchant tier's (a key may sit in only
 * one plan of a stage, so it leaves the old plan first: for the few milliseconds in between, the
 * merchant's requests are refused with 403 and may be retried).
 */
export async function registerUsageKey(
  merchant: Pick<Merchant, 'id' | 'usagePlan' | 'usageIdentifier'>,
): Promise<void> {
  const prefix = config().USAGE_PLAN_PREFIX;
  if (!prefix || !merchant.usageIdentifier) return;
  const plans = await usagePlanIds(prefix);
  const keyId = await ensureApiKey(merchant);
  const tier: MerchantUsagePlan = merchant.usagePlan ?? DEFAULT_MERCHANT_USAGE_PLAN;
  for (const other of MERCHANT_USAGE_PLANS.filter((candidate) => candidate !== tier)) {
    await apiGateway()
      .send(new DeleteUsagePlanKeyCommand({ usagePlanId: plans[other], keyId }))
      .catch((error: unknown) => {
        if (!(error instanceof NotFoundException)) throw error;
      });
  }
  await apiGateway()
    .send(new CreateUsagePlanKeyCommand({ usagePlanId: plans[tier], keyId, keyType: 'API_KEY' }))
    .catch((error: unknown) => {
      // Already a member of this plan.
      if (!(error instanceof ConflictException)) throw error;
    });
}

/** Where merchants' usage keys stand in API Gateway: each key's id by name, the merchant tiers it is in. */
export interface UsageKeyInventory {
  readonly keyIdByName: ReadonlyMap<string, string>;
  readonly tiersByKeyId: ReadonlyMap<string, readonly MerchantUsagePlan[]>;
}

/**
 * Every API key and every merchant tier plan's membership, in a few paged calls (rather than a lookup per
 * merchant): what the reconciliation job compares the merchants with. Undefined outside AWS.
 */
export async function usageKeyInventory(): Promise<UsageKeyInventory | undefined> {
  const prefix = config().USAGE_PLAN_PREFIX;
  if (!prefix) return undefined;
  const plans = await usagePlanIds(prefix);
  const keyIdByName = new Map<string, string>();
  let position: string | undefined;
  do {
    const page = await apiGateway().send(new GetApiKeysCommand({ limit: 500, position }));
    for (const key of page.items ?? []) if (key.name && key.id) keyIdByName.set(key.name, key.id);
    position = page.position;
  } while (position);
  const tiersByKeyId = new Map<string, MerchantUsagePlan[]>();
  for (const tier of MERCHANT_USAGE_PLANS) {
    let position: string | undefined;
    do {
      const page = await apiGateway().send(
        new GetUsagePlanKeysCommand({ usagePlanId: plans[tier], limit: 500, position }),
      );
      for (const key of page.items ?? []) {
        if (key.id) tiersByKeyId.set(key.id, [...(tiersByKeyId.get(key.id) ?? []), tier]);
      }
      position = page.position;
    } while (position);
  }
  return { keyIdByName, tiersByKeyId };
}

/** True when the merchant's usage key exists and sits in its tier's plan and in no other merchant tier's. */
export function usageKeyInPlace(
  merchant: Pick<Merchant, 'id' | 'usagePlan'>,
  inventory: UsageKeyInventory,
): boolean {
  const keyId = inventory.keyIdByName.get(merchant.id);
  const tiers = keyId ? (inventory.tiersByKeyId.get(keyId) ?? []) : [];
  return tiers.length === 1 && tiers[0] === (merchant.usagePlan ?? DEFAULT_MERCHANT_USAGE_PLAN);
}

export function resetUsageKeysForTests(): void {
  client = undefined;
  planIds = undefined;
}
