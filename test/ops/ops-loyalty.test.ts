import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerMember } from '../../functions/app/members';
import { runOps } from '../../local/ops';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * `npm run ops -- loyalty`: create and list loyalty programs, find a member by contact (through its HMAC;
 * the answer never shows the contact). `--aws` uses the environment's table: here a DynamoDB Local table.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('ops-loyalty');
  await testEnv();
});
afterAll(async () => table.drop());

function capture() {
  const out: string[] = [];
  const progress: string[] = [];
  return {
    io: { out: (text: string) => out.push(text), progress: (text: string) => progress.push(text) },
    json: () => JSON.parse(out.join('')),
    progress,
  };
}

describe('npm run ops -- loyalty', () => {
  it('creates a program, lists it, and finds a member by e-mail without printing the contact', async () => {
    const created = capture();
    const args = ['--name', 'Ops friends', '--currency', 'usd', '--card-programs', 'prg_1,prg_2'];
    expect(
      await runOps(
        ['loyalty', '--create-program', ...args, '--expire-after-months', '18', '--aws'],
        created.io,
      ),
    ).toBe(0);
    const program = created.json().program;
    expect(program).toMatchObject({
      name: 'Ops friends',
      currency: 'USD',
      cardProgramIds: ['prg_1', 'prg_2'],
      expireAfterMonths: 18,
      minorPerUnit: 100,
    });

    const listed = capture();
    expect(await runOps(['loyalty', '--programs', '--aws'], listed.io)).toBe(0);
    expect(listed.json().programs.map((p: { id: string }) => p.id)).toEqual([program.id]);

    const member = await registerMember(
      program.id,
      { channel: 'EMAIL', contact: 'Ops.Member@Example.com', termsVersion: '1', marketing: false },
      undefined,
      new Date(),
    );
    const found = capture();
    const lookup = [
      'loyalty',
      '--member',
      '--program',
      program.id,
      '--contact',
      'ops.member@example.com',
      '--aws',
    ];
    expect(await runOps(lookup, found.io)).toBe(0);
    expect(found.json()).toEqual({
      found: true,
      member: expect.objectContaining({ id: member.id, status: 'ACTIVE', pointsBalance: 0 }),
    });
    expect(JSON.stringify(found.json())).not.toContain('example.com');

    const missing = capture();
    const unknown = [
      'loyalty',
      '--member',
      '--program',
      program.id,
      '--contact',
      'nobody@example.com',
      '--aws',
    ];
    expect(await runOps(unknown, missing.io)).toBe(1);
    expect(missing.json()).toEqual({ found: false });

    const usage = capture();
    expect(await runOps(['loyalty', '--programs', '--member', '--aws'], usage.io)).toBe(2);
    expect(usage.progress.join('')).toContain('give exactly one of');
  });
});
