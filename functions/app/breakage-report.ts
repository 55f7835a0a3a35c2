import { type BreakageForecast, forecastBreakage, type ProgramForecast } from '../core/breakage';
import { summaryRows } from '../core/report';
import { readCohortCells, type StoredCohortCell } from '../store/cohort-counters';
import { readReport } from '../store/reports';

export interface BreakageQuery {
  readonly currency: string;
  readonly programId?: string;
  /** The last month (UTC yyyy-mm) the triangle includes. */
  readonly asOf: string;
}

export type BreakageReport = BreakageForecast & {
  readonly currency: string;
  readonly programId: string | null;
  /** The liability the day counters give at the end of asOf (UTC): the cohort totals should match it. */
  readonly reportedLiability: number;
};

const lastDayOf = (month: string): string => {
  const [year, monthNumber] = [Number(month.slice(0, 4)), Number(month.slice(5, 7))];
  return new Date(Date.UTC(year, monthNumber, 0)).toISOString().slice(0, 10);
};

/**
 * Primary course: read the cohort counters of the currency (and program), forecast the breakage of
 * their cohorts as of the month, and read the liability the day counters give at its end beside it.
 */
export async function breakageReport(query: BreakageQuery): Promise<BreakageReport> {
  const day = lastDayOf(query.asOf);
  const filter = { currency: query.currency, ...(query.programId ? { programId: query.programId } : {}) };
  const [cells, report] = await Promise.all([
    readCohortCells(filter),
    readReport({ from: day, to: day, ...filter }),
  ]);
  const reported = summaryRows(report).find((row) => row.currency === query.currency);
  return {
    currency: query.currency,
    programId: query.programId ?? null,
    ...forecastBreakage(cells, query.asOf),
    reportedLiability: reported?.outstandingLiability ?? 0,
  };
}

/** Every program and currency's forecast as of the month (the monthly export's breakage file). */
export async function breakageByProgram(asOf: string): Promise<ProgramForecast[]> {
  const groups = new Map<string, StoredCohortCell[]>();
  for (const cell of await readCohortCells({})) {
    const id = `${cell.programId}|${cell.currency}`;
    const group = groups.get(id) ?? [];
    group.push(cell);
    groups.set(id, group);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, cells]) => {
      const [programId = '', currency = ''] = id.split('|');
      return { programId, currency, forecast: forecastBreakage(cells, asOf) };
    });
}
