import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumOfAmounts } from '../../functions/core/ledger';
import { allEntries, findCard, issueCard } from '../support/cards';
import { everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

const run = promisify(execFile);
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('race');
  await testEnv();
});
afterAll(async () => table.drop());

describe('redemptions racing from separate processes (as separate Lambda instances would)', () => {
  it('never overspend: at most balance / amount succeed, the rest are INSUFFICIENT_FUNDS (or CONFLICT, writing nothing)', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 4000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const workers = 4;
    const perWorker = 20;
    const outputs = await Promise.all(
      Array.from({ length: workers }, () =>
        run('npx', ['tsx', 'test/support/race-worker.ts', card.id, String(perWorker), '100'], {
          env: process.env,
          timeout: 240_000,
        }),
      ),
    );
    const totals: Record<string, number> = {};
    for (const { stdout } of outputs) {
      const line = stdout.trim().split('\n').at(-1) ?? '{}';
      for (const [outcome, count] of Object.entries(JSON.parse(line) as Record<string, number>)) {
        totals[outcome] = (totals[outcome] ?? 0) + count;
      }
    }
    // A request that finds the card busy for its whole write budget (8 s, core/write-budget.ts) answers
    // CONFLICT and writes nothing; how many do depends on the machine's speed, so the money is what is
    // checked: never more than the balance, every success a REDEEM entry, and the rest refused.
    const { OK: ok = 0, INSUFFICIENT_FUNDS: refused = 0, CONFLICT: busy = 0, ...other } = totals;
    expect(other).toEqual({});
    expect(ok + refused + busy).toBe(workers * perWorker);
    expect(ok).toBeLessThanOrEqual(40);
    expect(ok).toBeGreaterThanOrEqual(40 - busy);
    const after = await findCard(card.id);
    const entries = await allEntries(card.id);
    expect(after?.balance).toBe(4000 - ok * 100);
    expect(sumOfAmounts(entries)).toBe(after?.balance);
    expect(entries.filter((entry) => entry.type === 'REDEEM')).toHaveLength(ok);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  }, 300_000);
});
