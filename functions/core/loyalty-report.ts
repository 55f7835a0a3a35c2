import type { PointsEntry } from './points';

/**
 * The loyalty liability: points outstanding per loyalty program, and what moved them per UTC day.
 * Each points entry adds its points to exactly one measure of its day (the reporting consumer counts
 * it once), so outstanding = the sum of every day's measures up to a day.
 */
export const LOYALTY_MEASURES = ['earned', 'spent', 'expired', 'reversed', 'adjusted'] as const;
export type LoyaltyMeasure = (typeof LOYALTY_MEASURES)[number];

export function measureOf(entry: Pick<PointsEntry, 'type'>): LoyaltyMeasure {
  switch (entry.type) {
    case 'EARN':
      return 'earned';
    case 'SPEND':
      return 'spent';
    case 'EXPIRE':
      return 'expired';
    case 'REVERSE_EARN':
      return 'reversed';
    case 'ADJUST':
      return 'adjusted';
  }
}

/** One day of one program: signed points per measure (earned > 0; spent, expired, reversed < 0). */
export interface LoyaltyDay {
  readonly loyaltyProgramId: string;
  readonly day: string;
  readonly earned: number;
  readonly spent: number;
  readonly expired: number;
  readonly reversed: number;
  readonly adjusted: number;
}

export const dayNet = (day: LoyaltyDay): number =>
  LOYALTY_MEASURES.reduce((sum, measure) => sum + day[measure], 0);

export interface LoyaltyReportRow extends LoyaltyDay {
  /** Points outstanding at the end of the day, and their value in minor units. */
  readonly outstandingPoints: number;
  readonly outstandingValueMinor: number;
}

/** Days in order with the running outstanding balance from every earlier day. */
export function withOutstanding(
  daysInOrder: readonly LoyaltyDay[],
  pointsValue: (points: number) => number,
): LoyaltyReportRow[] {
  let outstanding = 0;
  return daysInOrder.map((day) => {
    outstanding += dayNet(day);
    return { ...day, outstandingPoints: outstanding, outstandingValueMinor: pointsValue(outstanding) };
  });
}

export const LOYALTY_FILE_COLUMNS = [
  'loyalty_program_id',
  'day',
  'currency',
  'earned',
  'spent',
  'expired',
  'reversed',
  'adjusted',
  'outstanding_points',
  'outstanding_value_minor',
] as const;

export interface LoyaltyProgramReport {
  readonly loyaltyProgramId: string;
  readonly currency: string;
  readonly days: readonly LoyaltyReportRow[];
  /** At the end of the period. */
  readonly outstandingPoints: number;
  readonly outstandingValueMinor: number;
}
