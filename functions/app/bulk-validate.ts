import type { BulkFileFormat } from '../core/bulk/bulk-batch-model';
import { BULK_LIMITS, BulkBatchValidator, type BulkLimits, type BulkValidation } from '../core/bulk-batch';
import { CsvRecordReader, DEFAULT_MAX_RECORD_CHARS } from '../core/csv-records';
import { JsonArrayReader } from '../core/json-array-records';
import type { Program } from '../core/program';

/**
 * Validates a bulk issuance CSV (issue #19) as it streams in, an S3 object body or any other source of
 * byte chunks, against the program its cards would join. Writes nothing; the answer says whether the
 * file may be issued and lists its problems by line and field.
 *
 * Primary course: decode the bytes as UTF-8 (bytes that are not UTF-8 become U+FFFD, which the reader
 * reports on its line), split them into records (core/csv-records.ts), check each record
 * (core/bulk-batch.ts), and stop reading as soon as the file passes its row or byte limit.
 * Memory: one chunk, one record of at most `maxRecordChars`, the kept problems and the reference table.
 */
export interface BulkFileLimits extends BulkLimits {
  readonly maxRecordChars: number;
  /** Bytes read at most: 100,000 rows of 4,096 characters, most of them ASCII, with room to spare. */
  readonly maxFileBytes: number;
}

export const BULK_FILE_LIMITS: BulkFileLimits = {
  ...BULK_LIMITS,
  maxRecordChars: DEFAULT_MAX_RECORD_CHARS,
  maxFileBytes: 512 * 1024 * 1024,
};

export async function validateBulkFile(
  chunks: AsyncIterable<Uint8Array>,
  program: Program,
  limits: BulkFileLimits = BULK_FILE_LIMITS,
  format: BulkFileFormat = 'CSV',
): Promise<BulkValidation> {
  if (format === 'JSON') return validateBulkJsonFile(chunks, program, limits);
  const validator = new BulkBatchValidator(program, limits);
  const reader = new CsvRecordReader(limits.maxRecordChars);
  // The reader strips the BOM itself; `fatal: false` turns bad bytes into U+FFFD on their own line.
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  let bytes = 0;
  for await (const chunk of chunks) {
    bytes += chunk.byteLength;
    if (bytes > limits.maxFileBytes) {
      validator.refuseFile(
        `the file is larger than ${limits.maxFileBytes} bytes; split it into smaller files`,
      );
      return validator.result();
    }
    for (const record of reader.push(decoder.decode(chunk, { stream: true }))) validator.csvRecord(record);
    if (validator.full) return validator.result();
  }
  for (const record of reader.push(decoder.decode())) validator.csvRecord(record);
  for (const record of reader.end()) validator.csvRecord(record);
  return validator.result();
}

/**
 * The same for a JSON batch file (one array of row objects keyed by column name, core/json-array-records.ts):
 * the same rules, limits and problems, with rows numbered from 1 where a CSV names its lines.
 */
async function validateBulkJsonFile(
  chunks: AsyncIterable<Uint8Array>,
  program: Program,
  limits: BulkFileLimits,
): Promise<BulkValidation> {
  const validator = new BulkBatchValidator(program, limits).keyedRows();
  const reader = new JsonArrayReader(limits.maxRecordChars);
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  let bytes = 0;
  for await (const chunk of chunks) {
    bytes += chunk.byteLength;
    if (bytes > limits.maxFileBytes) {
      validator.refuseFile(
        `the file is larger than ${limits.maxFileBytes} bytes; split it into smaller files`,
      );
      return validator.result();
    }
    for (const record of reader.push(decoder.decode(chunk, { stream: true }))) validator.jsonRecord(record);
    if (validator.full) return validator.result();
  }
  for (const record of reader.push(decoder.decode())) validator.jsonRecord(record);
  for (const record of reader.end()) validator.jsonRecord(record);
  return validator.result();
}
