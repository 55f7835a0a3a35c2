import { pointsValueMinor } from '../core/loyalty-program';
import { type LoyaltyProgramReport, withOutstanding } from '../core/loyalty-report';
import { loyaltyDays } from '../store/loyalty-counters';
import { allLoyaltyPrograms, getLoyaltyProgram } from '../store/loyalty-programs';

/**
 * The loyalty report: per program and UTC day, points earned, spent, expired, reversed and adjusted, and
 * the points outstanding at the end of the day with their value (the loyalty liability).
 */
export async function loyaltyReport(
  fromDay: string,
  toDay: string,
  loyaltyProgramId?: string,
): Promise<LoyaltyProgramReport[]> {
  const programs = loyaltyProgramId
    ? [await getLoyaltyProgram(loyaltyProgramId)]
    : await allLoyaltyPrograms();
  const reports: LoyaltyProgramReport[] = [];
  for (const program of programs) {
    const rows = withOutstanding(await loyaltyDays(program.id, toDay), (points) =>
      pointsValueMinor(program, points),
    );
    const last = rows.at(-1);
    reports.push({
      loyaltyProgramId: program.id,
      currency: program.currency,
      days: rows.filter((row) => row.day >= fromDay),
      outstandingPoints: last?.outstandingPoints ?? 0,
      outstandingValueMinor: last?.outstandingValueMinor ?? 0,
    });
  }
  return reports;
}
