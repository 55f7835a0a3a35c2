import { PRINTER_COLUMNS, PRINTER_RECORD_WIDTH } from './printer-columns';
import { PrinterDataError } from './printer-data-error';
import type { PrinterRow } from './printer-row';

/**
 * The two layouts a printer file can have. Both are ASCII with CRLF line ends, one card a line.
 * - CSV (RFC 4180): a header line of column names, then one record per card; a field is quoted when it
 *   holds a comma, a quote or a line break, with quotes doubled. Values are written exactly as they
 *   are (no spreadsheet-formula escaping: a printer must print what the card carries).
 * - FIXED_WIDTH: no header; each record is PRINTER_RECORD_WIDTH characters, each column at its width
 *   (core/production/printer-columns.ts), left-aligned text padded with spaces on the right, the
 *   sequence right-aligned and zero-padded. A value wider than its column is refused, never cut.
 */
export type PrinterLayout = 'CSV' | 'FIXED_WIDTH';
export const PRINTER_LAYOUTS: readonly PrinterLayout[] = ['CSV', 'FIXED_WIDTH'];

const LINE_END = '\r\n';
const NEEDS_QUOTES = /[",\r\n]/;

export function rfc4180Field(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const printerCsvHeader = (): string =>
  PRINTER_COLUMNS.map((column) => rfc4180Field(column.name)).join(',') + LINE_END;

export const printerCsvRecord = (row: PrinterRow): string =>
  PRINTER_COLUMNS.map((column) => rfc4180Field(column.value(row))).join(',') + LINE_END;

export function printerFixedWidthRecord(row: PrinterRow): string {
  const fields = PRINTER_COLUMNS.map((column) => {
    const value = column.value(row);
    if (value.length > column.width || /[\r\n]/.test(value)) {
      throw new PrinterDataError(
        'FIXED_WIDTH_OVERFLOW',
        `Card ${row.sequence}: column ${column.name} holds ${column.width} characters; its value has ${value.length}`,
      );
    }
    return column.align === 'right'
      ? value.padStart(column.width, column.pad)
      : value.padEnd(column.width, column.pad);
  });
  const record = fields.join('');
  if (record.length !== PRINTER_RECORD_WIDTH)
    throw new Error('Invariant: a fixed-width record has its width');
  return record + LINE_END;
}

/** What a file of `layout` starts with (the CSV header; nothing for fixed width). */
export const printerFileHeader = (layout: PrinterLayout): string =>
  layout === 'CSV' ? printerCsvHeader() : '';

export const printerRecord = (layout: PrinterLayout, row: PrinterRow): string =>
  layout === 'CSV' ? printerCsvRecord(row) : printerFixedWidthRecord(row);

/** Parses a fixed-width record back into column values (trimmed of their padding), for tests and vendors. */
export function parseFixedWidthRecord(line: string): Record<string, string> {
  if (line.length !== PRINTER_RECORD_WIDTH) {
    throw new PrinterDataError(
      'FIXED_WIDTH_OVERFLOW',
      `A fixed-width record has ${PRINTER_RECORD_WIDTH} characters`,
    );
  }
  const values: Record<string, string> = {};
  let at = 0;
  for (const column of PRINTER_COLUMNS) {
    const raw = line.slice(at, at + column.width);
    values[column.name] = column.align === 'right' ? raw.replace(/^0+(?=\d)/, '') : raw.trimEnd();
    at += column.width;
  }
  return values;
}
