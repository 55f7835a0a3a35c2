import { describe, expect, it } from 'vitest';
import { generateCode } from '../../../functions/core/card-code';
import { readCsv } from '../../../functions/core/csv-read';
import { PRINTER_COLUMNS, PRINTER_RECORD_WIDTH } from '../../../functions/core/production/printer-columns';
import { PrinterDataError } from '../../../functions/core/production/printer-data-error';
import {
  parseFixedWidthRecord,
  printerCsvHeader,
  printerCsvRecord,
  printerFixedWidthRecord,
  rfc4180Field,
} from '../../../functions/core/production/printer-layouts';
import { buildPrinterRow, type PrinterRow } from '../../../functions/core/production/printer-row';

const NUMERIC = { alphabet: 'NUMERIC_LUHN', length: 19, prefix: '6' } as const;
const OPTIONS = { magstripe: { serviceCode: '721', discretionaryData: '0000' } };

function numericRow(sequence: number): PrinterRow {
  return buildPrinterRow({ sequence, code: generateCode(NUMERIC), pin: '90210417' }, OPTIONS);
}

const asStrings = (row: PrinterRow): Record<string, string> =>
  Object.fromEntries(PRINTER_COLUMNS.map((column) => [column.name, column.value(row)]));

describe('printer file layouts', () => {
  it('quotes CSV fields as RFC 4180 says, and only when they need it', () => {
    expect(rfc4180Field('plain')).toBe('plain');
    expect(rfc4180Field('a,b')).toBe('"a,b"');
    expect(rfc4180Field('say "hi"')).toBe('"say ""hi"""');
    expect(rfc4180Field('line\r\nbreak')).toBe('"line\r\nbreak"');
    // Track 2 starts with ';' and a PIN may start with 0: both are written as they are.
    expect(rfc4180Field(';123=4512?')).toBe(';123=4512?');
  });

  it('writes a CSV that a CSV reader turns back into the rows, a URL with commas included', () => {
    const template = 'https://gift.example.com/c?tags=a,b&code={code}';
    const rows = [1, 2, 3].map((sequence) =>
      buildPrinterRow({ sequence, code: generateCode(NUMERIC) }, { ...OPTIONS, qrUrlTemplate: template }),
    );
    const text = printerCsvHeader() + rows.map(printerCsvRecord).join('');
    expect(text.split('\r\n')[0]).toBe('sequence,code,pin,code128,qr,track2,track2_lrc,track2_bits');
    expect(readCsv(text)).toEqual(rows.map(asStrings));
  });

  it('writes fixed-width records of the documented width that parse back to the rows', () => {
    const rows = [1, 42, 99_999_999].map(numericRow);
    for (const row of rows) {
      const record = printerFixedWidthRecord(row);
      expect(record).toHaveLength(PRINTER_RECORD_WIDTH + 2);
      expect(record.endsWith('\r\n')).toBe(true);
      expect(parseFixedWidthRecord(record.slice(0, -2))).toEqual(asStrings(row));
    }
    expect(printerFixedWidthRecord(rows[1] as PrinterRow).slice(0, 8)).toBe('00000042');
    expect(PRINTER_RECORD_WIDTH).toBe(634);
  });

  it('refuses a value wider than its column instead of cutting it, naming the column but not the value', () => {
    const row = numericRow(5);
    const wide = { ...row, qr: `https://gift.example.com/${'x'.repeat(190)}?code=${row.code}` };
    const attempt = () => printerFixedWidthRecord(wide);
    expect(attempt).toThrow(PrinterDataError);
    expect(attempt).toThrow(/column qr holds 200 characters/);
    expect(attempt).not.toThrow(row.code);
  });
});
