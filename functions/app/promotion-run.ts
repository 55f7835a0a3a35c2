import { randomUUID } from 'node:crypto';
import type { Actor } from '../core/ledger';
import type { Member } from '../core/member';
import { countOutcomes, isTargeted, type MemberOutcome, type Promotion } from '../core/promotion';
import { logger } from '../logger';
import { linkedCards } from '../store/card-links';
import { listMembers } from '../store/members';
import { findPointsAccounts } from '../store/points-ledger';
import {
  activePromotions,
  deliverPromotion,
  type LeasedPromotion,
  leasePromotion,
  recordPromotionPage,
  releasePromotion,
} from '../store/promotions';

/** Members read and delivered per page (one list Query, one BatchGet of their points accounts). */
export const MEMBERS_PER_PAGE = 100;
/** Members of a page delivered at once. */
export const DELIVERIES_IN_FLIGHT = 8;
/** Promotions a run looks at (oldest first); the next run takes the rest. */
export const PROMOTIONS_PER_RUN = 20;
/** A run's hold on a promotion, renewed with each page; a dead run's hold runs out after it. */
export const PROMOTION_LEASE_MS = 2 * 60_000;
/** A run stops starting pages after this (the job's Lambda has 5 minutes); the next run goes on. */
export const RUN_BUDGET_MS = 3 * 60_000;

export interface PromotionRunOptions {
  /** Epoch ms after which no page starts (default: RUN_BUDGET_MS from the start). */
  readonly deadlineMs?: number;
  /** Tests: smaller pages than MEMBERS_PER_PAGE (at most it). */
  readonly membersPerPage?: number;
  /** Tests: called just before a member's delivery is written (a crash injected in the middle of a page). */
  readonly beforeDelivery?: (memberId: string) => void | Promise<void>;
}

export interface PromotionRunReport {
  /** Members walked. */
  readonly examined: number;
  /** Members a promotion reached in this run. */
  readonly changed: number;
  /** Promotions whose walk failed in this run (each resumes from its last recorded page). */
  readonly failed: number;
}

/**
 * The background fan-out of member promotions (the `promotions` scheduled job). Primary course: take
 * the unsent promotions oldest first; for each, lease it (one run at a time), then walk the program's
 * members from its stored cursor, a page at a time: read the page and its points accounts, decide each
 * member (targeted, with cards, within the cap) and deliver in one transaction per member (once-record,
 * cap counter, wallet messages), then record the page's counts with the cursor past it under the lease.
 * A crash between the two leaves the cursor at the page's start: the rerun walks the page again, the
 * once-records skip the members already reached and count them as delivered. The run stops starting
 * pages at its deadline and hands the promotion back; the next run (a minute later) goes on.
 */
export async function runPromotions(
  now: Date = new Date(),
  options: PromotionRunOptions = {},
): Promise<PromotionRunReport> {
  const deadlineMs = options.deadlineMs ?? Date.now() + RUN_BUDGET_MS;
  const owner = `run-${randomUUID()}`;
  const report = { examined: 0, changed: 0, failed: 0 };
  for (const candidate of await activePromotions(PROMOTIONS_PER_RUN)) {
    if (Date.now() >= deadlineMs) break;
    const leased = await leasePromotion(candidate, owner, now, PROMOTION_LEASE_MS);
    if (!leased) continue;
    try {
      const walked = await walkPromotion(leased, owner, deadlineMs, options);
      report.examined += walked.examined;
      report.changed += walked.delivered;
    } catch (error) {
      // The lease stays until it runs out (as after a crash): a later run resumes at the recorded page.
      report.failed += 1;
      logger.error('Promotion run failed', { promotionId: candidate.id, error: error as Error });
    }
  }
  return report;
}

async function walkPromotion(
  leased: LeasedPromotion,
  owner: string,
  deadlineMs: number,
  options: PromotionRunOptions,
): Promise<{ examined: number; delivered: number }> {
  const perPage = Math.min(options.membersPerPage ?? MEMBERS_PER_PAGE, MEMBERS_PER_PAGE);
  let { promotion, cursor } = leased;
  const walked = { examined: 0, delivered: 0 };
  for (;;) {
    const page = await listMembers(promotion.loyaltyProgramId, perPage, cursor);
    const outcomes = await deliverPage(promotion, page.items, leased.actor, options);
    const counts = countOutcomes(outcomes);
    const nextCursor = page.nextCursor ?? undefined;
    const recorded = await recordPromotionPage(
      promotion,
      owner,
      { counts, nextCursor },
      new Date(),
      PROMOTION_LEASE_MS,
    );
    if (!recorded) {
      logger.warn('Promotion lease lost; its page is left to the run holding it', {
        promotionId: promotion.id,
      });
      return walked;
    }
    walked.examined += counts.examined;
    walked.delivered += outcomes.filter((outcome) => outcome.kind === 'delivered').length;
    promotion = { ...promotion, pagesDone: promotion.pagesDone + 1 };
    if (nextCursor === undefined) {
      logger.info('Promotion sent', { promotionId: promotion.id, pages: promotion.pagesDone });
      return walked;
    }
    cursor = nextCursor;
    if (Date.now() >= deadlineMs) {
      await releasePromotion(promotion, owner);
      return walked;
    }
  }
}

/** Each member's outcome, DELIVERIES_IN_FLIGHT members at a time, in the page's order. */
async function deliverPage(
  promotion: Promotion,
  members: readonly Member[],
  actor: Actor,
  options: PromotionRunOptions,
): Promise<MemberOutcome[]> {
  const accounts = await findPointsAccounts(members.map((member) => member.id));
  const outcomes: MemberOutcome[] = new Array(members.length);
  let next = 0;
  const worker = async () => {
    for (let at = next++; at < members.length; at = next++) {
      const member = members[at] as Member;
      outcomes[at] = await memberTurn(promotion, member, accounts.get(member.id), actor, options);
    }
  };
  const workers = Array.from({ length: Math.min(DELIVERIES_IN_FLIGHT, members.length) }, worker);
  // A failed page ends only once nothing it started is still writing (a rerun starts from a quiet table).
  const settled = await Promise.allSettled(workers);
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  return outcomes;
}

async function memberTurn(
  promotion: Promotion,
  member: Member,
  points: Parameters<typeof isTargeted>[2],
  actor: Actor,
  options: PromotionRunOptions,
): Promise<MemberOutcome> {
  const now = new Date();
  if (!isTargeted(promotion.target, member, points, now)) return { kind: 'not-targeted' };
  const cards = await linkedCards(member.id);
  if (cards.length === 0) return { kind: 'without-cards' };
  await options.beforeDelivery?.(member.id);
  return deliverPromotion(
    member.id,
    promotion,
    cards.map((card) => card.cardId),
    actor,
    now,
  );
}
