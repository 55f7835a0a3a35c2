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
  it('never overspend: exactly balance / amount succeed, the rest are INSUFFICIENT_FUNDS', async () => {
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
    expect(totals).toEqual({ OK: 40, INSUFFICIENT_FUNDS: workers * perWorker - 40 });
    const after = await findCard(card.id);
    const entries = await allEntries(card.id);
    expect(after?.balance).toBe(0);
    expect(sumOfAmounts(entries)).toBe(0);
    expect(entries.filter((entry) => entry.type === 'REDEEM')).toHaveLength(40);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  }, 300_000);
});
