import { randomBytes } from 'node:crypto';
import { config } from '../config';
import { type AuditContext, auditOfChange } from '../core/audit';
import type { CheckLimits } from '../core/check-limits';
import { DomainError, notFound } from '../core/errors';
import { base32, newId } from '../core/ids';
import type { Merchant } from '../core/merchant';
import { DEFAULT_MERCHANT_USAGE_PLAN, type MerchantUsagePlan } from '../core/usage-plans';
import { auditInsert } from './audit';
import { readItem } from './batched-reads';
import { TtlCache } from './cache';
import { tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { MERCHANTS_INDEX_PK, merchantKey, programKey, withoutLayout } from './keys';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { keyInProgress, writeAtomically } from './transact';
import { registerUsageKey } from './usage-keys';

const cache = new TtlCache<Merchant>(() => config().REFERENCE_CACHE_SECONDS * 1000);
const toMerchant = (item: Record<string, unknown>): Merchant => withoutLayout<Merchant>(item);

/** 256 random bits: the value of the merchant's API Gateway usage key (API Gateway takes 20-128 characters). */
const newUsageIdentifier = (): string => `gu_${base32(randomBytes(32)).slice(0, 52)}`;

const merchantItem = (merchant: Merchant) => ({
  ...merchantKey(merchant.id),
  GSI1PK: MERCHANTS_INDEX_PK,
  GSI1SK: merchant.id,
  ...merchant,
});

/** Each listed program must exist: checked in the same transaction as the write. */
const programsExist = (programIds: readonly string[]) =>
  programIds.map((programId) => ({
    ConditionCheck: {
      TableName: tableName(),
      Key: programKey(programId),
      ConditionExpression: 'attribute_exists(PK)',
    },
  }));

function missingProgram(reasons: readonly { code: string }[], programIds: readonly string[]): DomainError {
  const index = reasons.findIndex((reason, i) => i > 0 && reason.code === 'ConditionalCheckFailed');
  return new DomainError('VALIDATION_FAILED', 'A listed program does not exist.', [
    {
      field: `programs[${Math.max(0, index - 1)}]`,
      message: `no such program: ${programIds[index - 1] ?? ''}`,
    },
  ]);
}

const withoutUsageIdentifier = ({ usageIdentifier: _usageIdentifier, ...merchant }: Merchant) => merchant;

/** The audit record written with a merchant change made by a caller (last in its transaction). */
const merchantAudit = (
  audit: AuditContext | undefined,
  action: string,
  before: Merchant | null,
  after: Merchant,
  now: Date,
) =>
  audit
    ? [
        auditInsert(
          auditOfChange(audit, {
            action,
            subjectType: 'merchant',
            subjectId: after.id,
            merchantId: after.id,
            at: now,
            // The usage identifier is API Gateway's key value: not for the audit trail.
            before: before && withoutUsageIdentifier(before),
            after: withoutUsageIdentifier(after),
          }),
        ),
      ]
    : [];

/**
 * Primary course: write the merchant (with its usage plan tier and a fresh usage identifier), then
 * register its usage key in the tier's API Gateway usage plan. A replay registers again (idempotent), so
 * retrying a request whose registration failed heals it.
 */
export async function createMerchant(
  input: {
    name: string;
    programIds: readonly string[];
    usagePlan?: MerchantUsagePlan;
    checkLimits?: CheckLimits;
  },
  claim: IdempotencyClaim | undefined,
  now = new Date(),
  audit?: AuditContext,
): Promise<Merchant> {
  const merchant: Merchant = {
    id: newId('mer', now),
    name: input.name,
    programIds: [...new Set(input.programIds)],
    usagePlan: input.usagePlan ?? DEFAULT_MERCHANT_USAGE_PLAN,
    usageIdentifier: newUsageIdentifier(),
    ...(input.checkLimits ? { checkLimits: input.checkLimits } : {}),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: merchantItem(merchant),
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...programsExist(merchant.programIds),
      ...merchantAudit(audit, 'merchant.create', null, merchant, now),
    ],
    { claim, result: merchant, now },
  );
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') throw missingProgram(outcome.reasons, merchant.programIds);
  const created = outcome.kind === 'replayed' ? outcome.result : merchant;
  await registerUsageKey(created);
  return created;
}

export async function findMerchant(
  merchantId: string,
  options: { cached?: boolean } = {},
): Promise<Merchant | undefined> {
  if (options.cached) {
    const hit = cache.get(merchantId);
    if (hit) return hit;
  }
  // Joins a batch of reads the request opened (a pass download's, read alongside authentication).
  const item = await readItem(merchantKey(merchantId), { consistent: false });
  if (!item) return undefined;
  const merchant = toMerchant(item);
  cache.set(merchantId, merchant);
  return merchant;
}

export async function getMerchant(merchantId: string): Promise<Merchant> {
  const merchant = await findMerchant(merchantId);
  if (!merchant) throw notFound('The merchant');
  return merchant;
}

export function listMerchants(limit: number, cursor?: string): Promise<Page<Merchant>> {
  return listByIndex('GSI1', MERCHANTS_INDEX_PK, { limit, cursor, newestFirst: true }, toMerchant);
}

/**
 * Primary course: write the change (conditioned on the version read), then make sure the merchant's usage
 * key sits in its tier's plan: moved when the tier changed, created for a merchant stored before usage
 * plans existed, and re-done after an earlier failed registration.
 */
export async function updateMerchant(
  merchantId: string,
  patch: {
    name?: string;
    programIds?: readonly string[];
    usagePlan?: MerchantUsagePlan;
    checkLimits?: CheckLimits;
  },
  now = new Date(),
  audit?: AuditContext,
): Promise<Merchant> {
  const current = await getMerchant(merchantId);
  const updated: Merchant = {
    ...current,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.programIds !== undefined ? { programIds: [...new Set(patch.programIds)] } : {}),
    usagePlan: patch.usagePlan ?? current.usagePlan ?? DEFAULT_MERCHANT_USAGE_PLAN,
    usageIdentifier: current.usageIdentifier ?? newUsageIdentifier(),
    ...(patch.checkLimits ? { checkLimits: { ...current.checkLimits, ...patch.checkLimits } } : {}),
    updatedAt: now.toISOString(),
  };
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: merchantItem(updated),
          // Guarantees: no lost update between two concurrent PATCHes.
          ConditionExpression: 'updatedAt = :seen',
          ExpressionAttributeValues: { ':seen': current.updatedAt },
        },
      },
      ...programsExist(updated.programIds),
      ...merchantAudit(audit, 'merchant.update', current, updated, now),
    ],
    { claim: undefined, result: updated, now },
  );
  if (outcome.kind === 'cancelled') {
    if (outcome.reasons[0]?.code === 'ConditionalCheckFailed') {
      throw new DomainError('CONFLICT', 'The merchant changed while it was being updated; retry.');
    }
    throw missingProgram(outcome.reasons, updated.programIds);
  }
  cache.delete(merchantId);
  await registerUsageKey(updated);
  return updated;
}

export function clearMerchantCache(): void {
  cache.clear();
}
