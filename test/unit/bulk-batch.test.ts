import { describe, expect, it } from 'vitest';
import { validateBulkFile } from '../../functions/app/bulk-validate';
import { BulkBatchValidator, type BulkValidation } from '../../functions/core/bulk-batch';
import { bulkRowSchema, readBulkHeader } from '../../functions/core/bulk-row';
import { MAX_AMOUNT } from '../../functions/core/money';
import { ReferenceSet } from '../../functions/core/reference-set';
import { bulkCsvFile, chunksOf } from '../support/bulk-csv-file';
import { makeProgram } from './domain-fixtures';

// minLoad 1.00, maxLoad 1,000.00, maxBalance 10,000.00 USD.
const program = makeProgram();
const HEADER = 'reference,amount,recipient_name,recipient_email,recipient_phone,message';
const GOOD = { reference: 'R-1', amount: '2500', recipient_name: 'Ada Lovelace' };

/** The problems of one row given by column name, or [] when it is valid. */
function rowProblems(values: Record<string, unknown>) {
  const parsed = bulkRowSchema(program).safeParse(values);
  return parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ field: issue.path[0], message: issue.message }));
}

const fieldsOf = (values: Record<string, unknown>) => rowProblems(values).map((problem) => problem.field);

function validateCsv(text: string, limits?: { maxRows: number; maxProblems: number }): BulkValidation {
  const validator = new BulkBatchValidator(program, limits);
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line !== '') validator.csvRecord({ line: index + 1, fields: line.split(',') });
  });
  return validator.result();
}

describe('the header contract', () => {
  it('takes the columns in any order, in any case, with spaces or dashes for underscores', () => {
    expect(readBulkHeader([' Amount', 'RECIPIENT NAME', 'reference', 'Recipient-Email'])).toEqual({
      columns: ['amount', 'recipient_name', 'reference', 'recipient_email'],
    });
  });

  it('refuses a missing required column, an unknown column and a repeated one, naming each', () => {
    expect(readBulkHeader(['reference', 'Amount', 'amount', 'colour'])).toEqual({
      problems: [
        { field: 'amount', message: 'the column appears twice' },
        { field: 'colour', message: expect.stringContaining('unknown column') },
        { field: 'recipient_name', message: 'required column is missing' },
      ],
    });
  });
});

describe('the row rules', () => {
  it('accepts a full row and shapes it, trimming and normalising the text', () => {
    const parsed = bulkRowSchema(program).parse({
      ...GOOD,
      recipient_name: '  Zoe\u0301  ',
      recipient_email: 'ada@example.com',
      recipient_phone: '+447700900123',
      message: 'Happy birthday!',
    });
    expect(parsed).toEqual({
      reference: 'R-1',
      amountMinor: 2500,
      recipient: { name: 'Zoé', email: 'ada@example.com', phone: '+447700900123' },
      message: 'Happy birthday!',
    });
  });

  it('takes the amount as whole minor units, from text (CSV) or a number (JSON)', () => {
    expect(rowProblems({ ...GOOD, amount: 2500 })).toEqual([]);
    for (const amount of [
      '25.00',
      '25,00',
      '-2500',
      '+2500',
      ' 2500',
      '2e3',
      '',
      'abc',
      '99999999999999999',
      25.5,
    ]) {
      expect(rowProblems({ ...GOOD, amount })).toEqual([
        { field: 'amount', message: expect.stringContaining('whole number of minor units') },
      ]);
    }
    expect(rowProblems({ ...GOOD, amount: '0' })).toEqual([{ field: 'amount', message: 'must be positive' }]);
  });

  it("keeps the amount within the program's min and max load and its max balance", () => {
    expect(rowProblems({ ...GOOD, amount: '99' })).toEqual([
      { field: 'amount', message: 'must be at least 1.00 USD' },
    ]);
    expect(rowProblems({ ...GOOD, amount: '100' })).toEqual([]);
    expect(rowProblems({ ...GOOD, amount: '100000' })).toEqual([]);
    expect(rowProblems({ ...GOOD, amount: '100001' })).toEqual([
      { field: 'amount', message: "must be at most 1000.00 USD (the program's load limit)" },
    ]);
    const tight = makeProgram({ maxLoad: 100_000, maxBalance: 50_000 });
    expect(bulkRowSchema(tight).safeParse({ ...GOOD, amount: '60000' }).error?.issues[0]?.message).toBe(
      "must be at most 500.00 USD (a card's maximum balance)",
    );
  });

  it('takes a reference of 1 to 100 letters, digits, dot, underscore or dash only', () => {
    expect(rowProblems({ ...GOOD, reference: 'a'.repeat(100) })).toEqual([]);
    expect(rowProblems({ ...GOOD, reference: 'Order_2025.11-07' })).toEqual([]);
    for (const reference of ['a'.repeat(101), 'has space', 'semi;colon', 'émile', '=1+1', 'a/b']) {
      expect(fieldsOf({ ...GOOD, reference })).toEqual(['reference']);
    }
    expect(fieldsOf({ ...GOOD, reference: undefined })).toEqual(['reference']);
  });

  it('needs a recipient name; e-mail and an E.164 phone are optional but checked', () => {
    expect(fieldsOf({ ...GOOD, recipient_name: undefined })).toEqual(['recipient_name']);
    expect(fieldsOf({ ...GOOD, recipient_name: '   ' })).toEqual(['recipient_name']);
    expect(fieldsOf({ ...GOOD, recipient_name: 'n'.repeat(201) })).toEqual(['recipient_name']);
    expect(fieldsOf({ ...GOOD, recipient_email: 'not-an-email' })).toEqual(['recipient_email']);
    expect(fieldsOf({ ...GOOD, recipient_email: `${'e'.repeat(250)}@x.io` })).toEqual(['recipient_email']);
    expect(fieldsOf({ ...GOOD, recipient_phone: '+15551234567' })).toEqual([]);
    for (const phone of ['07700900123', '+0123456', '+1 555 123 4567', '+1234567890123456', '+1']) {
      expect(fieldsOf({ ...GOOD, recipient_phone: phone })).toEqual(['recipient_phone']);
    }
  });

  it('bounds the message and refuses control, bidi and zero-width characters in text', () => {
    expect(fieldsOf({ ...GOOD, message: 'm'.repeat(1000) })).toEqual([]);
    expect(fieldsOf({ ...GOOD, message: 'm'.repeat(1001) })).toEqual(['message']);
    for (const message of [
      'line\nbreak',
      'tab\there',
      'bell\u0007',
      'c1\u0085',
      'bidi\u202etxt',
      'zero\u200bwidth',
    ]) {
      expect(rowProblems({ ...GOOD, message })).toEqual([
        { field: 'message', message: 'must not contain control, bidi or zero-width characters' },
      ]);
    }
    expect(fieldsOf({ ...GOOD, recipient_name: 'Ada\u0000' })).toEqual(['recipient_name']);
  });

  it('keeps values that look like spreadsheet formulas as plain text', () => {
    expect(
      bulkRowSchema(program).parse({ ...GOOD, message: '=HYPERLINK("x")', recipient_name: '@Ada' }),
    ).toMatchObject({
      recipient: { name: '@Ada' },
      message: '=HYPERLINK("x")',
    });
  });

  it('refuses fields that are not columns (a JSON batch row)', () => {
    const validator = new BulkBatchValidator(program);
    validator.row(1, { ...GOOD, colour: 'red' });
    expect(validator.result().problems).toEqual([{ line: 1, field: 'colour', message: 'unknown field' }]);
  });
});

describe('BulkBatchValidator', () => {
  it('accepts a good file with its row count and total in minor units', () => {
    const result = validateCsv(`${HEADER}\nA,2500,Ada,,,\nB,1000,Bo,bo@example.com,+15551234567,Hi`);
    expect(result).toEqual({
      accepted: true,
      rows: 2,
      totalMinor: 3500,
      currency: 'USD',
      problems: [],
      moreProblems: 0,
    });
  });

  it('reports every bad row by line and field, and totals only the valid ones', () => {
    const result = validateCsv(`${HEADER}\nA,2500,Ada,,,\nB,25.00,,,,\nC,1000,Cy,nope,,\nD,1,2\nE,700,Ed,,,`);
    expect(result.accepted).toBe(false);
    expect(result.rows).toBe(5);
    expect(result.totalMinor).toBe(3200);
    expect(result.problems.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 3, field: 'amount' },
      { line: 3, field: 'recipient_name' },
      { line: 4, field: 'recipient_email' },
      { line: 5, field: 'line' },
    ]);
    expect(result.problems[3]?.message).toBe('has 3 fields where the header has 6');
  });

  it('finds a duplicate reference however far apart, naming the first line', () => {
    const validator = new BulkBatchValidator(program);
    validator.csvRecord({ line: 1, fields: ['reference', 'amount', 'recipient_name'] });
    for (let row = 1; row <= 20_000; row++) {
      validator.csvRecord({ line: row + 1, fields: [row === 20_000 ? 'REF-1' : `REF-${row}`, '500', 'N'] });
    }
    expect(validator.result().problems).toEqual([
      { line: 20_001, field: 'reference', message: 'duplicate of the reference on line 2' },
    ]);
  });

  it('compares references exactly: case makes a different reference', () => {
    expect(validateCsv(`${HEADER}\nabc,500,A,,,\nABC,500,B,,,`).accepted).toBe(true);
  });

  it('keeps the first problems and counts the rest', () => {
    const rows = Array.from({ length: 12 }, (_, index) => `R${index},0,N,,,`).join('\n');
    const result = validateCsv(`${HEADER}\n${rows}`, { maxRows: 100, maxProblems: 5 });
    expect(result.problems).toHaveLength(5);
    expect(result.problems.map((problem) => problem.line)).toEqual([2, 3, 4, 5, 6]);
    expect(result.moreProblems).toBe(7);
    expect(result.accepted).toBe(false);
  });

  it('refuses an empty file, a file with a header only, and a bad header (its rows unread)', () => {
    expect(validateCsv('').problems).toEqual([
      { line: 1, field: 'header', message: 'the file is empty: the first line must name the columns' },
    ]);
    expect(validateCsv(HEADER).problems).toEqual([
      { line: 2, field: 'file', message: 'the file has no rows' },
    ]);
    const badHeader = validateCsv('reference,amount\nA,100');
    expect(badHeader.accepted).toBe(false);
    expect(badHeader.problems).toEqual([
      { line: 1, field: 'recipient_name', message: 'required column is missing' },
    ]);
  });

  it('refuses a batch whose total would leave exact integers, without overflowing', () => {
    const huge = makeProgram({ maxLoad: MAX_AMOUNT, maxBalance: MAX_AMOUNT });
    const validator = new BulkBatchValidator(huge);
    validator.csvRecord({ line: 1, fields: ['reference', 'amount', 'recipient_name'] });
    for (let row = 1; row <= 9_100; row++)
      validator.csvRecord({ line: row + 1, fields: [`R${row}`, `${MAX_AMOUNT}`, 'N'] });
    const result = validator.result();
    expect(Number.isSafeInteger(result.totalMinor)).toBe(true);
    expect(result.totalMinor).toBe(9_007 * MAX_AMOUNT);
    expect(result.problems[0]).toEqual({
      line: 9_009,
      field: 'amount',
      message: 'the batch total would exceed what can be counted exactly; split the file',
    });
  });
});

describe('ReferenceSet', () => {
  it('holds its entries in a fixed table sized by its limit', () => {
    const set = new ReferenceSet(100_000);
    expect(set.bytes).toBe(2 ** 18 * 12);
    expect(set.add('a', 2)).toBeUndefined();
    expect(set.add('a', 9)).toBe(2);
    expect(set.size).toBe(1);
  });

  it('refuses more entries than its limit', () => {
    const set = new ReferenceSet(2);
    set.add('a', 1);
    set.add('b', 2);
    expect(set.add('a', 3)).toBe(1);
    expect(() => set.add('c', 4)).toThrow('full');
  });
});

describe('hostile files', () => {
  it('refuses a huge line with a clear problem, reading on past it', async () => {
    const result = await validateBulkFile(
      chunksOf(`${HEADER}\nA,100,${'x'.repeat(5_000_000)},,,\nB,100,Bo,,,\n`),
      program,
    );
    expect(result.problems).toEqual([
      { line: 2, field: 'line', message: 'the line is longer than 4096 characters' },
    ]);
    expect(result.rows).toBe(2);
  });

  it('refuses NUL bytes and invalid UTF-8 on their lines', async () => {
    const nul = Buffer.from('B,100,B\0b,,,\n', 'utf8');
    const invalid = Buffer.concat([
      Buffer.from('C,100,C', 'utf8'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(',,,\n'),
    ]);
    const result = await validateBulkFile(
      chunksOf(`${HEADER}\nA,100,Ada,,,\n`, nul, invalid, 'D,100,Dee,,,\n'),
      program,
    );
    expect(result.problems).toEqual([
      { line: 3, field: 'line', message: 'the line holds a NUL character (is this a binary file?)' },
      { line: 4, field: 'line', message: 'the line is not valid UTF-8' },
    ]);
  });

  it('decodes a multi-byte character cut between two chunks', async () => {
    const bytes = Buffer.from(`${HEADER}\nA,100,Zoë Ünal,,,\n`, 'utf8');
    const cut = bytes.indexOf(0xc3) + 1;
    const result = await validateBulkFile(chunksOf(bytes.subarray(0, cut), bytes.subarray(cut)), program);
    expect(result.accepted).toBe(true);
  });

  it('refuses row 100,001 and stops reading there', async () => {
    let chunksRead = 0;
    async function* counted() {
      for await (const chunk of bulkCsvFile(120_000, { chunkBytes: 256 * 1024 })) {
        chunksRead++;
        yield chunk;
      }
    }
    const result = await validateBulkFile(counted(), program);
    expect(result.rows).toBe(100_000);
    expect(result.accepted).toBe(false);
    expect(result.problems).toEqual([
      {
        line: 100_002,
        field: 'file',
        message: 'the file has more than 100000 rows; split it into smaller files',
      },
    ]);
    // The 20,000 rows after the limit (about 1.5 MB) are never read.
    expect(chunksRead).toBeLessThan(42);
  });

  it('stops reading a file larger than its byte limit', async () => {
    const limits = { maxRows: 100_000, maxProblems: 1_000, maxRecordChars: 4096, maxFileBytes: 100_000 };
    const result = await validateBulkFile(bulkCsvFile(10_000, { chunkBytes: 16 * 1024 }), program, limits);
    expect(result.accepted).toBe(false);
    expect(result.problems.at(-1)).toEqual({
      line: 0,
      field: 'file',
      message: 'the file is larger than 100000 bytes; split it into smaller files',
    });
  });
});
