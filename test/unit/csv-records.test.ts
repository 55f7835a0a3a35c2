import { describe, expect, it } from 'vitest';
import { type CsvRecord, CsvRecordReader } from '../../functions/core/csv-records';

function read(text: string, maxRecordChars?: number): CsvRecord[] {
  const reader = new CsvRecordReader(maxRecordChars);
  return [...reader.push(text), ...reader.end()];
}

function readInPieces(text: string, cuts: readonly number[]): CsvRecord[] {
  const reader = new CsvRecordReader();
  const records: CsvRecord[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    records.push(...reader.push(text.slice(from, cut)));
    from = cut;
  }
  return [...records, ...reader.end()];
}

describe('CsvRecordReader', () => {
  it('reads fields and the line each record starts on, with CRLF, LF or a lone CR as line ends', () => {
    expect(read('a,b\r\nc,d\ne,f\rg,h')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c', 'd'] },
      { line: 3, fields: ['e', 'f'] },
      { line: 4, fields: ['g', 'h'] },
    ]);
  });

  it('reads RFC 4180 quoting: commas, doubled quotes and line breaks inside quotes', () => {
    const records = read('ref,message\r\n"r,1","say ""hi"""\r\nr2,"two\r\nlines"\r\nr3,last\r\n');
    expect(records).toEqual([
      { line: 1, fields: ['ref', 'message'] },
      { line: 2, fields: ['r,1', 'say "hi"'] },
      { line: 3, fields: ['r2', 'two\nlines'] },
      // The record above spans lines 3 and 4, so this one starts on line 5, as a text editor shows it.
      { line: 5, fields: ['r3', 'last'] },
    ]);
  });

  it('keeps empty fields, and skips blank lines without losing count of lines', () => {
    expect(read('a,,c\n\n\r\n,b,\n')).toEqual([
      { line: 1, fields: ['a', '', 'c'] },
      { line: 4, fields: ['', 'b', ''] },
    ]);
  });

  it('strips a UTF-8 byte order mark at the start of the file only', () => {
    expect(read('\ufeffreference,amount\nx,1')).toEqual([
      { line: 1, fields: ['reference', 'amount'] },
      { line: 2, fields: ['x', '1'] },
    ]);
  });

  it('reads the same records however the text is cut into chunks', () => {
    const text = '\ufeffa,"b ""q"" c"\r\n"multi\r\nline",x\r\n\r\nlast,"end"';
    const whole = read(text);
    for (let cut = 0; cut <= text.length; cut++) expect(readInPieces(text, [cut])).toEqual(whole);
    expect(
      readInPieces(
        text,
        Array.from({ length: text.length }, (_, index) => index),
      ),
    ).toEqual(whole);
  });

  it('keeps values starting with = + - @ as plain data (never evaluated)', () => {
    expect(read('=SUM(A1:A9),+1,-2,@cmd\n')).toEqual([
      { line: 1, fields: ['=SUM(A1:A9)', '+1', '-2', '@cmd'] },
    ]);
  });

  it('reports malformed quoting by line and carries on with the next line', () => {
    expect(read('ok,1\nab"c,2\n"x"y,3\nok,4\n"open,5\n')).toEqual([
      { line: 1, fields: ['ok', '1'] },
      { line: 2, problem: expect.stringContaining('quote inside an unquoted field') },
      { line: 3, problem: 'text after the closing quote of a field' },
      { line: 4, fields: ['ok', '4'] },
      { line: 5, problem: 'a quoted field is not closed before the end of the file' },
    ]);
  });

  it('refuses a line over the length cap without holding it, and reads the next line', () => {
    const huge = 'x'.repeat(1_000_000);
    expect(read(`a,b\n${huge},1\nc,d\n`, 4096)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, problem: 'the line is longer than 4096 characters' },
      { line: 3, fields: ['c', 'd'] },
    ]);
    // A quoted field spanning lines counts all its lines against the cap.
    expect(read(`"${'y'.repeat(50)}\n${'y'.repeat(50)}"\nnext`, 64)).toEqual([
      { line: 1, problem: 'the line is longer than 64 characters' },
      { line: 3, fields: ['next'] },
    ]);
  });

  it('accepts a line of exactly the cap', () => {
    expect(read(`${'z'.repeat(10)}\n`, 10)).toEqual([{ line: 1, fields: ['z'.repeat(10)] }]);
  });

  it('refuses NUL characters and undecodable bytes (U+FFFD) on their line', () => {
    expect(read('a,b\nc\0,d\ne,\ufffd\ng,h')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, problem: 'the line holds a NUL character (is this a binary file?)' },
      { line: 3, problem: 'the line is not valid UTF-8' },
      { line: 4, fields: ['g', 'h'] },
    ]);
  });
});
