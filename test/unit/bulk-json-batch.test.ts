import { describe, expect, it } from 'vitest';
import { acceptedRows } from '../../functions/app/bulk-rows';
import { BULK_FILE_LIMITS, validateBulkFile } from '../../functions/app/bulk-validate';
import { JsonArrayReader } from '../../functions/core/json-array-records';
import { bulkJsonFile, bulkRowCells, chunksOf } from '../support/bulk-csv-file';
import { makeProgram } from './domain-fixtures';

/** A JSON batch file (issue #19): one array of row objects, read as it streams, the CSV's rules by row. */
const program = makeProgram();
const validateJson = (file: AsyncIterable<Uint8Array>, limits = BULK_FILE_LIMITS) =>
  validateBulkFile(file, program, limits, 'JSON');

describe('JsonArrayReader', () => {
  it('finds each top-level element wherever the text is cut, strings and nesting included', () => {
    const text = '\ufeff [ {"a":"x,]}\\"y"}, {"b":[1,{"c":2}]} ,3 ] \n';
    for (const cut of [1, 2, 5, text.length]) {
      const reader = new JsonArrayReader(100);
      const records = [];
      for (let at = 0; at < text.length; at += cut) records.push(...reader.push(text.slice(at, at + cut)));
      records.push(...reader.end());
      expect(records).toEqual([
        { row: 1, value: { a: 'x,]}"y' } },
        { row: 2, value: { b: [1, { c: 2 }] } },
        { row: 3, value: 3 },
      ]);
    }
  });

  it('reports a bad element by row and reads on; what is not an array, or follows it, is the file', () => {
    const reader = new JsonArrayReader(20);
    expect([
      ...reader.push('[{"a":1},{"a":},,{"long":"xxxxxxxxxxxxxxxxxxxxxxxx"},{"a":2}'),
      ...reader.end(),
    ]).toEqual([
      { row: 1, value: { a: 1 } },
      { row: 2, problem: 'not valid JSON' },
      { row: 3, problem: 'an empty element (a comma too many)' },
      { row: 4, problem: 'the row is longer than 20 characters' },
      { row: 5, value: { a: 2 } },
      { row: 0, problem: 'the array is not closed: the file ends inside it' },
    ]);
    expect(new JsonArrayReader().push('{"rows":[]}')).toEqual([
      { row: 0, problem: 'a JSON batch file must hold one array of row objects' },
    ]);
    expect(new JsonArrayReader().push('[] x')).toEqual([
      { row: 0, problem: "there is text after the array's end" },
    ]);
    expect(new JsonArrayReader().push('[]')).toEqual([]);
  });
});

describe('validateBulkFile for a JSON batch', () => {
  it('reports exactly the three bad rows of a 2,000-row batch by row and field', async () => {
    const result = await validateJson(
      bulkJsonFile(2_000, {
        chunkBytes: 777,
        row: (row, value) =>
          row === 17
            ? { ...value, amount: 12.5 }
            : row === 1_234
              ? { ...value, recipient_email: 'nope' }
              : row === 1_999
                ? { ...value, reference: bulkRowCells(3).reference }
                : value,
      }),
    );
    expect(result.accepted).toBe(false);
    expect(result.rows).toBe(2_000);
    expect(result.problems.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 17, field: 'amount' },
      { line: 1_234, field: 'recipient_email' },
      { line: 1_999, field: 'reference' },
    ]);
    expect(result.problems[2]?.message).toBe('duplicate of the reference on line 3');
  });

  it('refuses rows that are not objects, unknown keys, an empty array and a file that is not an array', async () => {
    const refused = await validateJson(
      chunksOf('[{"reference":"A","amount":1000,"recipient_name":"Ann","colour":"red"}, "B", null]'),
    );
    expect(refused.problems.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 1, field: 'colour' },
      { line: 2, field: 'row' },
      { line: 3, field: 'row' },
    ]);
    expect((await validateJson(chunksOf('[ ]'))).problems).toEqual([
      { line: 0, field: 'file', message: 'the file has no rows' },
    ]);
    expect((await validateJson(chunksOf('reference,amount\n'))).problems).toEqual([
      { line: 0, field: 'file', message: 'a JSON batch file must hold one array of row objects' },
    ]);
  });

  it('stops at the row limit, and accepts a good batch whose rows the runner reads back in order', async () => {
    const over = await validateJson(bulkJsonFile(11), { ...BULK_FILE_LIMITS, maxRows: 10 });
    expect(over.problems).toEqual([
      { line: 11, field: 'file', message: 'the file has more than 10 rows; split it into smaller files' },
    ]);
    const good = await validateJson(bulkJsonFile(300, { chunkBytes: 100 }));
    expect(good).toMatchObject({ accepted: true, rows: 300, problems: [] });
    const rows = [];
    for await (const row of acceptedRows(bulkJsonFile(300), program, 256, 'JSON')) rows.push(row);
    expect(rows.map((row) => row.line)).toEqual(Array.from({ length: 44 }, (_, at) => 257 + at));
    expect(rows[0]?.row).toMatchObject({ reference: bulkRowCells(257).reference, amountMinor: 1_700 });
  });
});
