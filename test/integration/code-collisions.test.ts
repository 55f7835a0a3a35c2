import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cardIdForCode, luhnCheckDigit } from '../../functions/core/card-code';
import { issuedCardCount } from '../../functions/store/issued-cards';
import { generateCodePepper } from '../../local/secrets';
import { findCard, issueCard, lookupCard } from '../support/cards';
import { everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { resetHandlerState } from '../support/reset';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Collisions, made certain: the random digits of this file's codes come from a script. The format has
 * 11 random digits, drawn from 22 random bytes, a size nothing else asks for.
 */
const script = vi.hoisted(() => [] as Uint8Array[]);
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const randomBytes = ((size: number) => {
    const next = size === 22 ? script.shift() : undefined;
    return next ? Buffer.from(next) : actual.randomBytes(size);
  }) as typeof actual.randomBytes;
  return { ...actual, randomBytes, default: { ...actual, randomBytes } };
});

const FORMAT = { alphabet: 'NUMERIC_LUHN', length: 13, prefix: '9' } as const;
/** Queues the draw of these 11 digits and returns the code they make. */
function nextDraw(digits: string): string {
  script.push(Uint8Array.from([...digits, ...'0'.repeat(11)].map(Number)));
  const payload = `9${digits}`;
  return payload + luhnCheckDigit(payload);
}

const A = generateCodePepper();
const B = generateCodePepper();
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('collisions');
  await testEnv();
});
afterAll(async () => table.drop());

function coldStartWith(secret: string) {
  process.env.CODE_PEPPER = secret;
  resetHandlerState();
}
const issue = (programId: string) =>
  issueCard(
    programId,
    { type: 'DIGITAL', amount: 1000, activate: true },
    staffContext(),
    undefined,
    everyProgram,
  );

describe('code collisions', () => {
  it('draws again when the code is taken, and the first card keeps its code', async () => {
    coldStartWith(A);
    const program = await makeProgram({ codeFormat: FORMAT, maxCards: 100 });
    const x = nextDraw('12345678901');
    const first = await issue(program.id);
    expect(first.code).toBe(x);

    nextDraw('12345678901');
    const y = nextDraw('55555555555');
    const second = await issue(program.id);
    expect(second.code).toBe(y);
    expect((await lookupCard(x, everyone)).id).toBe(first.card.id);
    expect((await lookupCard(y, everyone)).id).toBe(second.card.id);
    // A collision counts nothing: two cards, two counted.
    expect(await issuedCardCount(program.id)).toBe(2);
  });

  it('never issues again a code taken under an older pepper (its new id would be free)', async () => {
    coldStartWith(A);
    const program = await makeProgram({ codeFormat: FORMAT, maxCards: 100 });
    const x = nextDraw('98765432109');
    const old = await issue(program.id);

    coldStartWith(JSON.stringify({ current: 'v2', peppers: { v1: A, v2: B } }));
    expect(await findCard(cardIdForCode(x, B))).toBeUndefined();
    nextDraw('98765432109');
    const y = nextDraw('24680246802');
    const fresh = await issue(program.id);
    expect(fresh.code).toBe(y);
    expect(fresh.card.id).toBe(cardIdForCode(y, B));
    expect(await findCard(cardIdForCode(x, B))).toBeUndefined();
    expect((await lookupCard(x, everyone)).id).toBe(old.card.id);
    expect((await lookupCard(y, everyone)).id).toBe(fresh.card.id);
  });

  it('gives up after 5 draws that all collide, writing nothing', async () => {
    coldStartWith(A);
    const program = await makeProgram({ codeFormat: FORMAT, maxCards: 100 });
    nextDraw('11111111111');
    await issue(program.id);
    for (let i = 0; i < 5; i++) nextDraw('11111111111');
    await expect(issue(program.id)).rejects.toThrow('Could not draw an unused card code');
    expect(script).toHaveLength(0);
    expect(await issuedCardCount(program.id)).toBe(1);
  });
});
