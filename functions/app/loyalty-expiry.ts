import type { LoyaltyProgram } from '../core/loyalty-program';
import { allLoyaltyPrograms } from '../store/loyalty-programs';
import { listMembers } from '../store/members';
import { expireMemberPoints } from './points';

/**
 * The points expiry sweep (functions/scheduled/points-expiry.ts): for every loyalty program with
 * `expireAfterMonths`, each member's points earned before the cutoff expire, oldest first, with one
 * EXPIRE points entry written in one conditional transaction with the account (app/points.ts
 * expireMemberPoints). Idempotent: an expiry leaves the balance at the fresh points, so a rerun (or a
 * concurrent run) writes nothing; a spend racing it moves the account's version, and whichever loses
 * plans again on the other's result. Deleted members keep their account and are swept alike (the
 * liability stays correct). The loyalty-reporting consumer counts each EXPIRE entry as expired on its day.
 */
export interface PointsExpiryReport {
  readonly programs: number;
  /** Members looked at. */
  readonly examined: number;
  /** Members whose points expired (one EXPIRE entry each). */
  readonly changed: number;
  readonly expiredPoints: number;
  readonly failed: number;
}

const MEMBERS_PAGE = 200;
/** Members expired at once: a handful, so a run does not crowd the table's other writers. */
const PARALLEL_MEMBERS = 4;

async function expireProgram(
  program: LoyaltyProgram & { expireAfterMonths: number },
  now: Date | undefined,
  totals: { examined: number; changed: number; expiredPoints: number; failed: number },
): Promise<void> {
  const rule = { expireAfterMonths: program.expireAfterMonths };
  let cursor: string | undefined;
  do {
    const page = await listMembers(program.id, MEMBERS_PAGE, cursor);
    for (let start = 0; start < page.items.length; start += PARALLEL_MEMBERS) {
      const batch = page.items.slice(start, start + PARALLEL_MEMBERS);
      await Promise.all(
        batch.map(async (member) => {
          totals.examined += 1;
          try {
            // The clock at each member unless the run is given one (tests move it), as the card sweeps do.
            const result = await expireMemberPoints(member.id, rule, now ? { now } : {});
            if (result.expiredPoints > 0) {
              totals.changed += 1;
              totals.expiredPoints += result.expiredPoints;
            }
          } catch {
            // The next run tries again; nothing was written for this member.
            totals.failed += 1;
          }
        }),
      );
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/** Expires the points past their program's expiry, once. Safe to run any number of times. */
export async function expireLoyaltyPoints(now?: Date): Promise<PointsExpiryReport> {
  const programs = (await allLoyaltyPrograms()).filter(
    (program): program is LoyaltyProgram & { expireAfterMonths: number } =>
      typeof program.expireAfterMonths === 'number',
  );
  const totals = { examined: 0, changed: 0, expiredPoints: 0, failed: 0 };
  for (const program of programs) await expireProgram(program, now, totals);
  return { programs: programs.length, ...totals };
}
