import type { PrinterRow } from './printer-row';

/**
 * The columns of a printer file, in order, for both layouts (CSV and fixed-width). Widths are the
 * fixed-width layout's; docs/printer-files.md lists them for printer vendors.
 */
export interface PrinterColumn {
  readonly name: string;
  readonly width: number;
  /** Right-aligned columns are padded on the left. */
  readonly align: 'left' | 'right';
  readonly pad: ' ' | '0';
  readonly value: (row: PrinterRow) => string;
}

export const PRINTER_COLUMNS: readonly PrinterColumn[] = [
  { name: 'sequence', width: 8, align: 'right', pad: '0', value: (row) => String(row.sequence) },
  { name: 'code', width: 24, align: 'left', pad: ' ', value: (row) => row.code },
  { name: 'pin', width: 12, align: 'left', pad: ' ', value: (row) => row.pin },
  // 50 symbols: a 24-character code needs at most 24 data symbols, 12 subset switches and 3 more.
  { name: 'code128', width: 150, align: 'left', pad: ' ', value: (row) => row.code128 },
  { name: 'qr', width: 200, align: 'left', pad: ' ', value: (row) => row.qr },
  { name: 'track2', width: 39, align: 'left', pad: ' ', value: (row) => row.track2 },
  { name: 'track2_lrc', width: 1, align: 'left', pad: ' ', value: (row) => row.track2Lrc },
  { name: 'track2_bits', width: 200, align: 'left', pad: ' ', value: (row) => row.track2Bits },
];

export const PRINTER_RECORD_WIDTH = PRINTER_COLUMNS.reduce((sum, column) => sum + column.width, 0);
