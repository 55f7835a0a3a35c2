import {
  type BulkColumn,
  type BulkRowSchema,
  bulkRowSchema,
  REFERENCE_PATTERN,
  readBulkHeader,
} from './bulk-row';
import type { CsvRecord } from './csv-records';
import type { JsonRowRecord } from './json-array-records';
import type { Program } from './program';
import { ReferenceSet } from './reference-set';

/**
 * Validates a bulk issuance file (issue #19) one row at a time, so a 100,000-row file is checked in
 * memory flat in its rows: what it keeps is the first `maxProblems` problems, a count of the rest, the
 * totals, and the reference table (core/reference-set.ts: fixed, 3 MB at 100,000 rows). Nothing is
 * created here; the file is accepted only when it has a header, at least one row and no problem at all.
 *
 * Feed it either CSV records (`csvRecord`, the first one is the header) or a JSON batch's rows (`row`,
 * keyed by column name). Once `full` (the row limit passed) it ignores what follows: stop reading.
 */
export interface BulkProblem {
  /** The file's line (CSV, 1 = header), the row's position (JSON batch, from 1), 0 for the whole file. */
  readonly line: number;
  /** A column name, or `header`, `line`, `file` for what is not one cell's fault. */
  readonly field: string;
  readonly message: string;
}

export interface BulkValidation {
  readonly accepted: boolean;
  /** Data rows read (valid or not), at most the row limit. */
  readonly rows: number;
  /** The sum of the valid rows' amounts, in minor units; a safe integer. */
  readonly totalMinor: number;
  readonly currency: string;
  /** The first problems in file order, at most `maxProblems`. */
  readonly problems: readonly BulkProblem[];
  /** Problems found beyond those kept. */
  readonly moreProblems: number;
}

export interface BulkLimits {
  readonly maxRows: number;
  readonly maxProblems: number;
}

export const BULK_LIMITS: BulkLimits = { maxRows: 100_000, maxProblems: 1_000 };

export class BulkBatchValidator {
  private readonly schema: BulkRowSchema;
  private readonly references: ReferenceSet;
  private readonly problems: BulkProblem[] = [];
  private moreProblems = 0;
  private columns: readonly BulkColumn[] | undefined;
  private headerRefused = false;
  private rows = 0;
  private totalMinor = 0;
  private overLimit = false;
  /** Rows come keyed by column name (a JSON batch), with no header. */
  private byName = false;

  constructor(
    private readonly program: Program,
    private readonly limits: BulkLimits = BULK_LIMITS,
  ) {
    this.schema = bulkRowSchema(program);
    this.references = new ReferenceSet(limits.maxRows);
  }

  /** True once the row limit is passed: nothing after it is read. */
  get full(): boolean {
    return this.overLimit;
  }

  /** A CSV record: the header first, then rows mapped to columns by position. */
  csvRecord(record: CsvRecord): void {
    if (this.overLimit) return;
    if ('problem' in record) {
      // A malformed first record is the header's problem; any later one is a row's, and counts as one.
      if (this.columns === undefined && !this.headerRefused) this.headerRefused = true;
      else if (!this.countRow(record.line)) return;
      this.problem(record.line, 'line', record.problem);
    } else if (this.columns === undefined && !this.headerRefused) {
      this.header(record.line, record.fields);
    } else if (this.countRow(record.line) && this.columns !== undefined) {
      this.csvRow(record.line, record.fields, this.columns);
    }
  }

  private csvRow(line: number, fields: readonly string[], columns: readonly BulkColumn[]): void {
    if (fields.length !== columns.length) {
      this.problem(line, 'line', `has ${fields.length} fields where the header has ${columns.length}`);
      return;
    }
    const values: Record<string, string> = {};
    columns.forEach((column, index) => {
      const cell = fields[index] ?? '';
      if (cell !== '') values[column] = cell;
    });
    this.checkRow(line, values);
  }

  /** A JSON batch row, keyed by column name; `line` is its position in the batch (from 1). */
  row(line: number, values: Readonly<Record<string, unknown>>): void {
    this.byName = true;
    if (this.overLimit || !this.countRow(line)) return;
    this.checkRow(line, values);
  }

  /** Rows will come keyed by column name (a JSON batch): an empty batch has no rows, not no header. */
  keyedRows(): this {
    this.byName = true;
    return this;
  }

  /**
   * A JSON batch file's element (core/json-array-records.ts), numbered from 1: a row object keyed by
   * column name, or the element's problem (row 0: the file's).
   */
  jsonRecord(record: JsonRowRecord): void {
    this.byName = true;
    if (this.overLimit) return;
    if ('problem' in record) {
      if (record.row === 0) this.problem(0, 'file', record.problem);
      else if (this.countRow(record.row)) this.problem(record.row, 'row', record.problem);
      return;
    }
    const { value } = record;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      if (this.countRow(record.row))
        this.problem(record.row, 'row', 'must be an object keyed by column name');
      return;
    }
    this.row(record.row, value as Record<string, unknown>);
  }

  /** Refuses the file as a whole (too large to read, say); nothing after this is read. */
  refuseFile(message: string): void {
    this.overLimit = true;
    this.problem(0, 'file', message);
  }

  result(): BulkValidation {
    if (this.rows === 0 && !this.headerRefused && this.problems.length === 0) {
      if (this.columns === undefined && !this.byName) {
        this.problem(1, 'header', 'the file is empty: the first line must name the columns');
      } else this.problem(this.byName ? 0 : 2, 'file', 'the file has no rows');
    }
    const accepted = this.problems.length === 0 && this.moreProblems === 0;
    return {
      accepted,
      rows: this.rows,
      totalMinor: this.totalMinor,
      currency: this.program.currency,
      problems: [...this.problems],
      moreProblems: this.moreProblems,
    };
  }

  private header(line: number, names: readonly string[]): void {
    const header = readBulkHeader(names);
    if ('problems' in header) {
      this.headerRefused = true;
      for (const problem of header.problems) this.problem(line, problem.field, problem.message);
    } else this.columns = header.columns;
  }

  /** Counts a row against the limit; false for the row past it (reported once, then the file stops). */
  private countRow(line: number): boolean {
    if (this.rows >= this.limits.maxRows) {
      this.overLimit = true;
      this.problem(
        line,
        'file',
        `the file has more than ${this.limits.maxRows} rows; split it into smaller files`,
      );
      return false;
    }
    this.rows++;
    return true;
  }

  private checkRow(line: number, values: Readonly<Record<string, unknown>>): void {
    const parsed = this.schema.safeParse(values);
    this.checkReference(line, values.reference);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) this.problem(line, key.slice(0, 50), 'unknown field');
        } else this.problem(line, String(issue.path[0] ?? 'line'), issue.message);
      }
      return;
    }
    this.addToTotal(line, parsed.data.amountMinor);
  }

  /** A well-formed reference seen on an earlier line is a duplicate, however far back. */
  private checkReference(line: number, reference: unknown): void {
    if (typeof reference !== 'string' || !REFERENCE_PATTERN.test(reference)) return;
    const earlier = this.references.add(reference, line);
    if (earlier !== undefined)
      this.problem(line, 'reference', `duplicate of the reference on line ${earlier}`);
  }

  private addToTotal(line: number, amountMinor: number): void {
    const total = this.totalMinor + amountMinor;
    if (!Number.isSafeInteger(total)) {
      this.problem(
        line,
        'amount',
        'the batch total would exceed what can be counted exactly; split the file',
      );
      return;
    }
    this.totalMinor = total;
  }

  private problem(line: number, field: string, message: string): void {
    if (this.problems.length < this.limits.maxProblems) this.problems.push({ line, field, message });
    else this.moreProblems++;
  }
}
