import type { AuditContext } from '../core/audit';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';
import { listMerchants, updateMerchant } from '../store/merchants';
import { registerUsageKey, usageKeyInPlace, usageKeyInventory } from '../store/usage-keys';

/** Who the audit trail names for the identifiers this job gives. */
const RECONCILIATION: AuditContext = {
  actor: { type: 'system', id: 'usage-keys' },
  reason: 'Usage plan key reconciliation: the merchant had no usage identifier',
};

export interface UsageKeyReport {
  /** Merchants looked at. */
  readonly examined: number;
  /** assigned + registered. */
  readonly changed: number;
  /** Merchants stored before usage plans, given an identifier and a tier (an audited update). */
  readonly assigned: number;
  /** Merchants whose API Gateway key was missing or in the wrong plan, registered again. */
  readonly registered: number;
  readonly failed: number;
}

/**
 * Brings every merchant's usage key in line: a merchant stored before usage plans gets its usage
 * identifier and default tier (through the same update an admin's PATCH makes, so it is audited, with
 * this job as the actor), and a merchant whose API Gateway key is missing or sits in another plan (a
 * registration that failed after the merchant was written, a key removed by hand) is registered again.
 * Without it such a merchant's requests get 403 from API Gateway until an admin PATCHes it. Each
 * merchant is independent: one that fails is logged and counted, and the next run takes it again.
 */
export async function run(now = new Date()): Promise<UsageKeyReport> {
  const inventory = await usageKeyInventory();
  let examined = 0;
  let assigned = 0;
  let registered = 0;
  let failed = 0;
  let cursor: string | undefined;
  do {
    const page = await listMerchants(100, cursor);
    for (const merchant of page.items) {
      examined += 1;
      try {
        if (!merchant.usageIdentifier) {
          await updateMerchant(merchant.id, {}, now, RECONCILIATION);
          assigned += 1;
        } else if (inventory && !usageKeyInPlace(merchant, inventory)) {
          await registerUsageKey(merchant);
          registered += 1;
        }
      } catch (error) {
        failed += 1;
        logger.error('Usage key reconciliation failed for a merchant', {
          merchantId: merchant.id,
          error: error as Error,
        });
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { examined, changed: assigned + registered, assigned, registered, failed };
}

async function handle(): Promise<void> {
  const report = await recordedRun('usage-keys', () => run());
  logger.info('Usage key reconciliation', { ...report });
  if (report.failed > 0) throw new Error(`${report.failed} merchants' usage keys could not be reconciled`);
}

export const handler = observed(handle);
