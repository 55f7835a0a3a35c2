import { BREAKAGE_COLUMNS, breakageCells, type ProgramForecast } from '../core/breakage';
import { csvRow } from '../core/csv';
import { CsvObjectWriter, type ExportFile } from './export-files';

/**
 * The export's `breakage.csv.gz`: the breakage forecast of every program and currency as of the export's
 * month, one row per cohort (columns: BREAKAGE_COLUMNS, docs/breakage.md).
 */
export async function writeBreakageFile(
  keyPrefix: string,
  forecasts: readonly ProgramForecast[],
): Promise<ExportFile> {
  const file = new CsvObjectWriter(
    'breakage.csv.gz',
    `${keyPrefix}breakage.csv.gz`,
    csvRow(BREAKAGE_COLUMNS),
  );
  for (const { programId, currency, forecast } of forecasts) {
    for (const cohort of forecast.cohorts) {
      await file.write(csvRow(breakageCells(programId, currency, forecast, cohort)));
    }
  }
  return file.finish();
}
