/**
 * Reads an uploaded JSON batch (issue #19: "a CSV upload (or a JSON batch)"), a file holding one JSON array
 * of row objects, one element at a time as the bytes stream in, so a 100,000-row file is read in memory
 * flat in its rows: what it holds is the element being read, at most `maxElementChars` of it.
 *
 * It only finds where each top-level element starts and ends (tracking strings, escapes and nesting), then
 * hands the element's text to JSON.parse. Elements are numbered from 1: that number is the row a problem
 * names. An element longer than the bound is reported without being held; one that is not valid JSON is
 * reported and reading goes on at the next top-level comma. What is not an array at all, or text after
 * the array's end, is the file's problem (row 0), and reading stops there.
 */
export type JsonRowRecord =
  | { readonly row: number; readonly value: unknown }
  | { readonly row: number; readonly problem: string };

export const DEFAULT_MAX_ELEMENT_CHARS = 4096;

const WHITESPACE = /^[ \t\r\n]*$/;
const BOM = '\ufeff';
/** What a lenient UTF-8 decoder puts where the bytes were not UTF-8. */
const REPLACEMENT = '\ufffd';

type Phase = 'BEFORE' | 'INSIDE' | 'AFTER' | 'STOPPED';

export class JsonArrayReader {
  private phase: Phase = 'BEFORE';
  private started = false;
  private element = '';
  private elementChars = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private row = 0;
  private out: JsonRowRecord[] = [];

  constructor(private readonly maxElementChars = DEFAULT_MAX_ELEMENT_CHARS) {
    if (!Number.isSafeInteger(maxElementChars) || maxElementChars < 1)
      throw new Error('maxElementChars >= 1');
  }

  /** The records `text` completes (with what came before it); text may be cut anywhere. */
  push(text: string): JsonRowRecord[] {
    let at = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith(BOM)) at = 1;
    }
    let from = at;
    for (; at < text.length && this.phase !== 'STOPPED'; at++) {
      const ch = text.charCodeAt(at);
      if (this.phase === 'BEFORE') {
        if (ch === 0x5b /* [ */) {
          this.phase = 'INSIDE';
          from = at + 1;
        } else if (!isSpace(ch)) this.stop('a JSON batch file must hold one array of row objects');
        continue;
      }
      if (this.phase === 'AFTER') {
        if (!isSpace(ch)) this.stop("there is text after the array's end");
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === 0x5c /* \ */) this.escaped = true;
        else if (ch === 0x22 /* " */) this.inString = false;
        continue;
      }
      if (ch === 0x22) this.inString = true;
      else if (ch === 0x7b /* { */ || ch === 0x5b) this.depth++;
      else if ((ch === 0x7d /* } */ || ch === 0x5d) /* ] */ && this.depth > 0) this.depth--;
      else if (ch === 0x2c /* , */ && this.depth === 0) {
        this.take(text, from, at);
        this.flush(false);
        from = at + 1;
      } else if (ch === 0x5d && this.depth === 0) {
        this.take(text, from, at);
        this.flush(true);
        this.phase = 'AFTER';
      }
    }
    if (this.phase === 'INSIDE') this.take(text, from, text.length);
    return this.drain();
  }

  /** The records left at the end of the file: an array never closed is a problem. */
  end(): JsonRowRecord[] {
    if (this.phase === 'BEFORE') this.stop('the file is empty: a JSON batch is one array of row objects');
    else if (this.phase === 'INSIDE') {
      this.take('', 0, 0);
      if (this.element.trim() !== '' || this.elementChars > this.maxElementChars) this.flush(false);
      this.stop('the array is not closed: the file ends inside it');
    }
    return this.drain();
  }

  private take(text: string, from: number, to: number): void {
    const length = to - from;
    if (length <= 0) return;
    this.elementChars += length;
    if (this.elementChars <= this.maxElementChars) this.element += text.slice(from, to);
  }

  /** One top-level element ends; `last` when the array's `]` ended it (an empty last element is none). */
  private flush(last: boolean): void {
    const text = this.element;
    const chars = this.elementChars;
    this.element = '';
    this.elementChars = 0;
    this.depth = 0;
    if (last && this.row === 0 && WHITESPACE.test(text) && chars <= this.maxElementChars) return;
    const row = ++this.row;
    if (chars > this.maxElementChars) {
      this.out.push({ row, problem: `the row is longer than ${this.maxElementChars} characters` });
    } else if (text.includes(REPLACEMENT)) {
      this.out.push({ row, problem: 'holds bytes that are not UTF-8' });
    } else if (WHITESPACE.test(text)) {
      this.out.push({ row, problem: 'an empty element (a comma too many)' });
    } else {
      try {
        this.out.push({ row, value: JSON.parse(text) as unknown });
      } catch {
        this.out.push({ row, problem: 'not valid JSON' });
      }
    }
  }

  private stop(problem: string): void {
    this.phase = 'STOPPED';
    this.out.push({ row: 0, problem });
  }

  private drain(): JsonRowRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

const isSpace = (ch: number) => ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d;
