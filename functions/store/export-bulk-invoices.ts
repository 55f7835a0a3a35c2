import { BULK_INVOICE_COLUMNS, bulkInvoiceCells } from '../core/bulk/bulk-batch-model';
import { csvRow } from '../core/csv';
import { allBulkInvoicesBetween } from './bulk-invoices';
import { CsvObjectWriter, type ExportFile } from './export-files';

/**
 * The export's `bulk-invoices.csv.gz` (issue #19): every bulk batch accepted in the period, one invoice
 * summary a row (count, total in minor units, currency, program, customer, who asked), streamed a page at
 * a time. The customer's name goes through csvRow, which neutralises spreadsheet formulas.
 */
export async function writeBulkInvoiceFile(
  keyPrefix: string,
  periodStart: string,
  cutoff: string,
): Promise<ExportFile> {
  const file = new CsvObjectWriter(
    'bulk-invoices.csv.gz',
    `${keyPrefix}bulk-invoices.csv.gz`,
    csvRow(BULK_INVOICE_COLUMNS),
  );
  for await (const invoice of allBulkInvoicesBetween(periodStart, cutoff)) {
    await file.write(csvRow(bulkInvoiceCells(invoice)));
  }
  return file.finish();
}
