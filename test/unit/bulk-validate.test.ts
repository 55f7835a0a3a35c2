import { describe, expect, it } from 'vitest';
import { validateBulkFile } from '../../functions/app/bulk-validate';
import { type BulkRowCells, bulkCsvFile, bulkRowCells } from '../support/bulk-csv-file';
import { makeProgram } from './domain-fixtures';

const program = makeProgram();

/** Rows 1,234, 5,000 and 9,999 are wrong: an amount in major units, an e-mail, a reference reused. */
function withThreeMistakes(row: number, cells: BulkRowCells): BulkRowCells {
  if (row === 1_234) return { ...cells, amount: '25.00' };
  if (row === 5_000) return { ...cells, email: 'employee.5000(at)example.com' };
  if (row === 9_999) return { ...cells, reference: bulkRowCells(17).reference };
  return cells;
}

const expectedTotalMinor = (rows: number) => {
  let total = 0;
  for (let row = 1; row <= rows; row++) total += Number(bulkRowCells(row).amount);
  return total;
};

describe('validateBulkFile', () => {
  it('reports exactly the three bad lines of a 10,000-row file, and nothing is accepted', async () => {
    const result = await validateBulkFile(bulkCsvFile(10_000, { cells: withThreeMistakes }), program);
    expect(result.accepted).toBe(false);
    expect(result.rows).toBe(10_000);
    expect(result.moreProblems).toBe(0);
    // Line = row + 1 (the header is line 1).
    expect(result.problems).toEqual([
      { line: 1_235, field: 'amount', message: expect.stringContaining('whole number of minor units') },
      { line: 5_001, field: 'recipient_email', message: 'must be an e-mail address' },
      { line: 10_000, field: 'reference', message: 'duplicate of the reference on line 18' },
    ]);
  });

  it('accepts the corrected file with its row count and total', async () => {
    const result = await validateBulkFile(bulkCsvFile(10_000, { lineEnd: '\n', chunkBytes: 1_000 }), program);
    expect(result).toEqual({
      accepted: true,
      rows: 10_000,
      totalMinor: expectedTotalMinor(10_000),
      currency: 'USD',
      problems: [],
      moreProblems: 0,
    });
  });

  it('gives the same answer whatever size the chunks are cut to', async () => {
    const cells = (row: number, given: BulkRowCells) =>
      row === 40 ? { ...given, message: 'Multi\nline' } : { ...given, name: `Zoë ${row}` };
    const answers = await Promise.all(
      [1, 7, 64, 4096].map((chunkBytes) =>
        validateBulkFile(bulkCsvFile(300, { cells, chunkBytes }), program),
      ),
    );
    for (const answer of answers) {
      expect(answer.problems).toEqual([
        { line: 41, field: 'message', message: 'must not contain control, bidi or zero-width characters' },
      ]);
      expect(answer.rows).toBe(300);
    }
  });
});
