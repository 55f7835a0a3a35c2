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
  if (format === 'JSON') {
    // One array of row objects keyed by column name (core/json-array-records.ts): the same rules, limits
    // and problems, with rows numbered from 1 where a CSV names its lines.
    const validator = new BulkBatchValidator(program, limits).keyedRows();
    const reader = new JsonArrayReader(limits.maxRecordChars);
    return readAll(chunks, limits, validator, reader, (record) => validator.jsonRecord(record));
  }
  const validator = new BulkBatchValidator(program, limits);
  const reader = new CsvRecordReader(limits.maxRecordChars);
  return readAll(chunks, limits, validator, reader, (record) => validator.csvRecord(record));
}

interface RecordReader<R> {
  push(text: string): Iterable<R>;
  end(): Iterable<R>;
}

/** Streams the file's text through the reader into the validator, stopping at the size limit or when full. */
async function readAll<R>(
  chunks: AsyncIterable<Uint8Array>,
  limits: BulkFileLimits,
  validator: BulkBatchValidator,
  reader: RecordReader<R>,
  take: (record: R) => void,
): Promise<BulkValidation> {
  // The readers strip the BOM themselves; `fatal: false` turns bad bytes into U+FFFD on their own line.
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
    for (const record of reader.push(decoder.decode(chunk, { stream: true }))) take(record);
    if (validator.full) return validator.result();
  }
  for (const record of reader.push(decoder.decode())) take(record);
  for (const record of reader.end()) take(record);
  return validator.result();
}
