import { csvRow } from '../core/csv';
import { LOYALTY_FILE_COLUMNS, type LoyaltyProgramReport } from '../core/loyalty-report';
import { CsvObjectWriter, type ExportFile } from './export-files';

/** The export's `loyalty.csv.gz`: per loyalty program and day of the period, the points and the liability. */
export async function writeLoyaltyFile(
  keyPrefix: string,
  reports: readonly LoyaltyProgramReport[],
): Promise<ExportFile> {
  const file = new CsvObjectWriter(
    'loyalty.csv.gz',
    `${keyPrefix}loyalty.csv.gz`,
    csvRow(LOYALTY_FILE_COLUMNS),
  );
  for (const report of reports) {
    for (const row of report.days) {
      await file.write(
        csvRow([
          report.loyaltyProgramId,
          row.day,
          report.currency,
          row.earned,
          row.spent,
          row.expired,
          row.reversed,
          row.adjusted,
          row.outstandingPoints,
          row.outstandingValueMinor,
        ]),
      );
    }
  }
  return file.finish();
}
