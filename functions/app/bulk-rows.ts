import type { BulkFileFormat } from '../core/bulk/bulk-batch-model';
import { type BulkRow, bulkRowSchema, readBulkHeader } from '../core/bulk-row';
import { CsvRecordReader, DEFAULT_MAX_RECORD_CHARS } from '../core/csv-records';
import { JsonArrayReader, type JsonRowRecord } from '../core/json-array-records';
import type { Program } from '../core/program';

export interface NumberedRow {
  /** 0-based position among the data rows. */
  readonly index: number;
  /** The file's line (the header is line 1); a JSON batch's row number (from 1). */
  readonly line: number;
  readonly row: BulkRow;
}

/**
 * The rows of an accepted bulk file, in order, starting at data row `fromIndex` (rows before it are read
 * and dropped, never held). The file was validated whole before the batch ran and S3 objects do not
 * change under a key the batch owns, so a row that fails here means the stored file is not the one
 * accepted: the run stops rather than issue from it.
 */
export async function* acceptedRows(
  chunks: AsyncIterable<Uint8Array>,
  program: Program,
  fromIndex: number,
  format: BulkFileFormat = 'CSV',
): AsyncGenerator<NumberedRow> {
  if (format === 'JSON') {
    yield* acceptedJsonRows(chunks, program, fromIndex);
    return;
  }
  const schema = bulkRowSchema(program);
  const reader = new CsvRecordReader(DEFAULT_MAX_RECORD_CHARS);
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  let columns: readonly string[] | undefined;
  let index = 0;
  const rowsOf = function* (records: ReturnType<CsvRecordReader['push']>) {
    for (const record of records) {
      if ('problem' in record) throw new Error(`The accepted file changed: line ${record.line} is malformed`);
      if (columns === undefined) {
        const header = readBulkHeader(record.fields);
        if ('problems' in header) throw new Error('The accepted file changed: its header is refused');
        columns = header.columns;
        continue;
      }
      const position = index++;
      if (position < fromIndex) continue;
      const values: Record<string, string> = {};
      columns.forEach((column, at) => {
        const cell = record.fields[at] ?? '';
        if (cell !== '') values[column] = cell;
      });
      const parsed = schema.safeParse(values);
      if (!parsed.success) throw new Error(`The accepted file changed: line ${record.line} is refused`);
      yield { index: position, line: record.line, row: parsed.data };
    }
  };
  for await (const chunk of chunks) yield* rowsOf(reader.push(decoder.decode(chunk, { stream: true })));
  yield* rowsOf(reader.push(decoder.decode()));
  yield* rowsOf(reader.end());
}

async function* acceptedJsonRows(
  chunks: AsyncIterable<Uint8Array>,
  program: Program,
  fromIndex: number,
): AsyncGenerator<NumberedRow> {
  const schema = bulkRowSchema(program);
  const reader = new JsonArrayReader(DEFAULT_MAX_RECORD_CHARS);
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const rowsOf = function* (records: readonly JsonRowRecord[]) {
    for (const record of records) {
      if ('problem' in record) throw new Error(`The accepted file changed: row ${record.row} is malformed`);
      const index = record.row - 1;
      if (index < fromIndex) continue;
      const parsed = schema.safeParse(record.value);
      if (!parsed.success) throw new Error(`The accepted file changed: row ${record.row} is refused`);
      yield { index, line: record.row, row: parsed.data };
    }
  };
  for await (const chunk of chunks) yield* rowsOf(reader.push(decoder.decode(chunk, { stream: true })));
  yield* rowsOf(reader.push(decoder.decode()));
  yield* rowsOf(reader.end());
}
