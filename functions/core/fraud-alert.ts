import { createHash } from 'node:crypto';
import { DomainError } from './errors';
import type { FraudRuleName, FraudSeverity } from './fraud-rules';
import { base32 } from './ids';
import type { Actor } from './ledger';

/**
 * A fraud alert: one rule hit, raised by the fraud stream consumer. Support works it
 * OPEN -> ACKNOWLEDGED -> RESOLVED (an OPEN alert may be resolved at once, e.g. a false positive).
 * Resolving never unblocks the card: support unblocks it explicitly (POST /v1/cards/{id}/unblock).
 */
export const ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** What the consumer did to the card for a hit that asks for a block. */
export type CardAction = 'BLOCKED' | 'ALREADY_BLOCKED' | 'NOT_ACTIVE';

export interface AlertStep {
  readonly at: string;
  readonly by: Actor;
  readonly note: string;
}

export interface FraudAlert {
  readonly id: string;
  readonly rule: FraudRuleName;
  readonly severity: FraudSeverity;
  readonly status: AlertStatus;
  readonly detail: string;
  /** The rule asked for the card to be blocked. */
  readonly block: boolean;
  readonly cardId?: string;
  readonly programId?: string;
  readonly merchantId?: string;
  /** The ledger entry that tripped the rule. */
  readonly transactionId?: string;
  readonly transactionAt?: string;
  /** FAILED_CHECKS_KEY: whose checks failed (`key#<api key id>` or `staff#<user>`). */
  readonly caller?: string;
  readonly cardAction?: CardAction;
  /** The BLOCK ledger entry, when this alert blocked the card. */
  readonly blockTransactionId?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly acknowledged?: AlertStep;
  readonly resolved?: AlertStep;
}

/**
 * Alert ids derive from the rule and what tripped it (a ledger entry id, or a failed-checks window), so
 * a stream record delivered twice raises the same alert, written once.
 */
export function alertIdOf(rule: FraudRuleName, sourceId: string): string {
  const digest = createHash('sha256').update(`${rule}\n${sourceId}`).digest();
  return `fa_${base32(digest).slice(0, 26)}`;
}

export type AlertAction = 'ACKNOWLEDGE' | 'RESOLVE';

const FROM: Readonly<Record<AlertAction, readonly AlertStatus[]>> = {
  ACKNOWLEDGE: ['OPEN'],
  RESOLVE: ['OPEN', 'ACKNOWLEDGED'],
};

/** The alert after a support step; CONFLICT when its status does not allow the step. */
export function planAlertStep(alert: FraudAlert, action: AlertAction, step: AlertStep): FraudAlert {
  if (!FROM[action].includes(alert.status)) {
    throw new DomainError(
      'CONFLICT',
      `The alert is ${alert.status}; it can only be ${action === 'ACKNOWLEDGE' ? 'acknowledged while OPEN' : 'resolved while OPEN or ACKNOWLEDGED'}.`,
    );
  }
  return action === 'ACKNOWLEDGE'
    ? { ...alert, status: 'ACKNOWLEDGED', acknowledged: step, updatedAt: step.at }
    : { ...alert, status: 'RESOLVED', resolved: step, updatedAt: step.at };
}
