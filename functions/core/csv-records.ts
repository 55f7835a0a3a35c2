/**
 * Reads uploaded RFC 4180 CSV one record at a time, for files a customer wrote (a spreadsheet export),
 * where core/csv-read.ts reads files this platform wrote. What an upload needs and that reader has not:
 * - the line number where each record starts (a record spans lines when a quoted field holds a line break),
 *   so every problem names the line a spreadsheet shows;
 * - CRLF, LF and a lone CR as line ends (Excel on Windows and macOS, hand-made files), and a UTF-8 BOM;
 * - malformed text reported, not guessed: a quote inside an unquoted field, text after a closing quote,
 *   a quote left open at the end of the file, a NUL character, and U+FFFD (what a lenient UTF-8
 *   decoder puts where the bytes were not UTF-8);
 * - a bound: a record longer than `maxRecordChars` is refused and skipped to its line end, so one
 *   hostile line costs at most that much memory, whatever the file holds.
 * After a malformed record the reader skips to the next line end and carries on, so one bad line does
 * not hide the problems of the next. Blank lines are skipped; they are not rows.
 *
 * Values are data: a cell starting with = + - or @ is kept as written and never evaluated (formula
 * injection matters only when a spreadsheet opens a file we write; whoever writes this file's values
 * back into a CSV must neutralise them there).
 */
export type CsvRecord =
  | { readonly line: number; readonly fields: readonly string[] }
  | { readonly line: number; readonly problem: string };

export const DEFAULT_MAX_RECORD_CHARS = 4096;

type State = 'FIELD_START' | 'UNQUOTED' | 'QUOTED' | 'QUOTE_IN_QUOTED' | 'SKIP';

const BOM = '\ufeff';
/**
 * Where a run of ordinary characters ends, per state: the reader copies such a run in one slice rather
 * than a character at a time (ten times faster on typical rows).
 */
const RUN_ENDS: Partial<Record<State, RegExp>> = {
  // biome-ignore lint/complexity/useRegexLiterals: the literal form trips the control-character rule.
  UNQUOTED: new RegExp('[,"\\r\\n\\u0000\\ufffd]', 'g'),
  // biome-ignore lint/complexity/useRegexLiterals: the literal form trips the control-character rule.
  QUOTED: new RegExp('["\\r\\n\\u0000\\ufffd]', 'g'),
  SKIP: /[\r\n]/g,
};
const REPLACEMENT = '\ufffd';

export class CsvRecordReader {
  private state: State = 'FIELD_START';
  private fields: string[] = [];
  private cell = '';
  private recordChars = 0;
  /** The physical line being read (1-based) and the one the current record started on. */
  private line = 1;
  private recordLine = 1;
  /** A CR ended the last line: an LF right after it belongs to the same line end. */
  private afterCr = false;
  private started = false;
  private skipProblem = '';
  private out: CsvRecord[] = [];

  constructor(private readonly maxRecordChars = DEFAULT_MAX_RECORD_CHARS) {
    if (!Number.isSafeInteger(maxRecordChars) || maxRecordChars < 1) throw new Error('maxRecordChars >= 1');
  }

  /** The records `text` completes (with what came before it); text may be cut anywhere. */
  push(text: string): CsvRecord[] {
    let start = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith(BOM)) start = 1;
    }
    for (let i = start; i < text.length; ) {
      const runEnd = this.afterCr ? i : this.run(text, i);
      if (runEnd > i) i = runEnd;
      else this.step(text.charAt(i++));
    }
    return this.drain();
  }

  /** The last record, when the text does not end with a line end, and an unclosed quote. */
  end(): CsvRecord[] {
    if (this.state === 'QUOTED') this.fail('a quoted field is not closed before the end of the file');
    if (this.state === 'SKIP') this.emitProblem();
    else if (this.recordChars > 0) this.endRecord();
    return this.drain();
  }

  private drain(): CsvRecord[] {
    const records = this.out;
    this.out = [];
    return records;
  }

  /** Takes the ordinary characters from `from` on in one slice; returns where they end. */
  private run(text: string, from: number): number {
    const pattern = RUN_ENDS[this.state];
    if (pattern === undefined) return from;
    pattern.lastIndex = from;
    const end = pattern.exec(text)?.index ?? text.length;
    if (end === from || this.state === 'SKIP') return end;
    this.recordChars += end - from;
    if (this.recordChars > this.maxRecordChars) this.fail(this.tooLong());
    else this.cell += text.slice(from, end);
    return end;
  }

  private step(c: string): void {
    if (this.afterCr) {
      this.afterCr = false;
      if (c === '\n') return;
    }
    if (c === '\r' || c === '\n') this.lineEnd(c);
    else if (this.state === 'SKIP') return;
    else if (++this.recordChars > this.maxRecordChars) this.fail(this.tooLong());
    else if (c === '\0') this.fail('the line holds a NUL character (is this a binary file?)');
    else if (c === REPLACEMENT) this.fail('the line is not valid UTF-8');
    else this.character(c);
  }

  private character(c: string): void {
    switch (this.state) {
      case 'FIELD_START':
        if (c === '"') this.state = 'QUOTED';
        else if (c === ',') this.endField();
        else this.addToCell(c, 'UNQUOTED');
        return;
      case 'UNQUOTED':
        if (c === ',') this.endField();
        else if (c === '"')
          this.fail('a quote inside an unquoted field (quote the whole field, doubling its quotes)');
        else this.cell += c;
        return;
      case 'QUOTED':
        if (c === '"') this.state = 'QUOTE_IN_QUOTED';
        else this.cell += c;
        return;
      case 'QUOTE_IN_QUOTED':
        if (c === '"') this.addToCell('"', 'QUOTED');
        else if (c === ',') this.endField();
        else this.fail('text after the closing quote of a field');
        return;
      case 'SKIP':
        return;
    }
  }

  private addToCell(c: string, next: State): void {
    this.cell += c;
    this.state = next;
  }

  /** A line break: ends the record, or is data inside quotes (counted as a line all the same). */
  private lineEnd(c: string): void {
    this.afterCr = c === '\r';
    this.line++;
    if (this.state === 'QUOTED') {
      if (++this.recordChars <= this.maxRecordChars) {
        this.cell += '\n';
        return;
      }
      this.fail(this.tooLong());
    }
    if (this.state === 'SKIP') this.emitProblem();
    else if (this.recordChars > 0) this.endRecord();
    this.recordLine = this.line;
  }

  private tooLong(): string {
    return `the line is longer than ${this.maxRecordChars} characters`;
  }

  private endField(): void {
    this.fields.push(this.cell);
    this.cell = '';
    this.state = 'FIELD_START';
  }

  private endRecord(): void {
    this.fields.push(this.cell);
    this.out.push({ line: this.recordLine, fields: this.fields });
    this.reset();
  }

  private fail(problem: string): void {
    this.skipProblem = problem;
    this.state = 'SKIP';
    this.fields = [];
    this.cell = '';
  }

  private emitProblem(): void {
    this.out.push({ line: this.recordLine, problem: this.skipProblem });
    this.reset();
  }

  private reset(): void {
    this.fields = [];
    this.cell = '';
    this.recordChars = 0;
    this.state = 'FIELD_START';
    this.skipProblem = '';
  }
}
