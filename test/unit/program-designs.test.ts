import { describe, expect, it } from 'vitest';
import { validateBulkFile } from '../../functions/app/bulk-validate';
import { bulkRowSchema } from '../../functions/core/bulk-row';
import { designProblem } from '../../functions/core/program';
import { chunksOf } from '../support/bulk-csv-file';
import { makeProgram } from './domain-fixtures';

/** A program's e-gift designs (issue #19): orders and bulk rows may only name one of them. */
const program = makeProgram({ designs: ['birthday', 'thank-you'] });

describe("a program's designs", () => {
  it('allow exactly the listed ids; a program without designs allows none', () => {
    expect(designProblem(program, 'birthday')).toBeUndefined();
    expect(designProblem(program, 'Birthday')).toMatch(/not one of the program's designs/);
    expect(designProblem(makeProgram(), 'birthday')).toBe('the program offers no designs');
  });

  it("carry a bulk row's design_id into the row, and refuse an unknown one by line and field", async () => {
    const row = bulkRowSchema(program).parse({
      reference: 'R-1',
      amount: '2500',
      recipient_name: 'Ann',
      design_id: 'thank-you',
    });
    expect(row.designId).toBe('thank-you');
    const csv = await validateBulkFile(
      chunksOf(
        'reference,amount,recipient_name,design_id\r\n',
        'R-1,2500,Ann,birthday\r\n',
        'R-2,2500,Bob,\r\n',
        'R-3,2500,Cid,wedding\r\n',
      ),
      program,
    );
    expect(csv.problems).toEqual([
      { line: 4, field: 'design_id', message: expect.stringContaining("not one of the program's designs") },
    ]);
    const json = await validateBulkFile(
      chunksOf('[{"reference":"R-1","amount":2500,"recipient_name":"Ann","design_id":"bad design"}]'),
      program,
      undefined,
      'JSON',
    );
    expect(json.problems.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 1, field: 'design_id' },
    ]);
  });
});
