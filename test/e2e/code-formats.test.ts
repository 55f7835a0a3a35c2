import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasValidCheck } from '../../functions/core/card-code';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Code formats through the HTTP API: programs choose their alphabet, length and prefix and how many
 * cards they may issue; formats that cannot keep 10^9 unissued codes per issued code are refused with
 * 400 naming the field; cards of each format issue and look up by code; issuing stops at maxCards.
 */
let stack: LocalStack;
let admin: string;
let merchantId: string;

beforeAll(async () => {
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  merchantId = demo.merchantId;
});
afterAll(async () => stack.stop());

async function createProgram(fields: Record<string, unknown>) {
  return request('POST', '/v1/programs', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { name: 'Format test', currency: 'USD', merchants: [merchantId], ...fields },
  });
}

// Staff issue and look up: a merchant's API key caches its merchant (and so its programs) for a few seconds.
async function issue(programId: string) {
  return request('POST', '/v1/cards', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount: 2500, activate: true },
  });
}

const lookup = (code: string) => request('POST', '/v1/cards/lookup', { token: admin, body: { code } });
const fieldsOf = (body: { errors?: { field: string }[] }) => (body.errors ?? []).map((error) => error.field);

describe('program code formats', () => {
  it('defaults to 18-digit numeric codes behind the region code, for up to 10^7 cards', async () => {
    const created = await createProgram({});
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      codeFormat: { alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' },
      maxCards: 10_000_000,
    });
    const issued = await issue(created.body.id);
    expect(issued.status).toBe(201);
    expect(issued.body.code).toMatch(/^1\d{17}$/);
    expect(hasValidCheck(issued.body.code, 'NUMERIC_LUHN')).toBe(true);
  });

  it('issues UNAMBIGUOUS codes that look up however they are typed', async () => {
    const created = await createProgram({ codeFormat: { alphabet: 'UNAMBIGUOUS', prefix: 'B7' } });
    expect(created.status).toBe(201);
    expect(created.body.codeFormat).toEqual({ alphabet: 'UNAMBIGUOUS', length: 14, prefix: 'B7' });

    const issued = await issue(created.body.id);
    expect(issued.status).toBe(201);
    const { code, card } = issued.body as { code: string; card: { id: string; last4: string } };
    expect(code).toMatch(/^B7[23456789ABCDEFGHJKMNPQRSTVWXYZ]{12}$/);
    expect(card.last4).toBe(code.slice(-4));

    const typed = `${code.slice(0, 4)}-${code.slice(4, 9)} ${code.slice(9)}`.toLowerCase();
    for (const form of [code, typed]) {
      const found = await lookup(form);
      expect(found.status).toBe(200);
      expect(found.body).toMatchObject({ id: card.id, balance: 2500 });
    }
    // One symbol off, or a lookalike typed for a symbol: NOT_FOUND, like any unknown code.
    const swapped = code.slice(0, 5) + (code[5] === 'X' ? 'Y' : 'X') + code.slice(6);
    expect((await lookup(swapped)).status).toBe(404);
    expect((await lookup(`${code.slice(0, 5)}O${code.slice(6)}`)).status).toBe(404);

    const listed = await request(
      'GET',
      `/v1/cards?programId=${created.body.id}&last4=${card.last4.toLowerCase()}`,
      {
        token: admin,
      },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([card.id]);
  });

  it('refuses formats that cannot keep 10^9 unissued codes per issued code, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ codeFormat: { length: 17 } }, 'codeFormat.length'],
      [{ codeFormat: { length: 18 }, maxCards: 20_000_000 }, 'codeFormat.length'],
      [{ codeFormat: { alphabet: 'UNAMBIGUOUS', length: 12 } }, 'codeFormat.length'],
      [{ maxCards: 1_000_000_000_000, codeFormat: { prefix: '1234567890' } }, 'maxCards'],
      [{ codeFormat: { prefix: '2' } }, 'codeFormat.prefix'],
      [{ codeFormat: { alphabet: 'UNAMBIGUOUS', prefix: 'BO' } }, 'codeFormat.prefix'],
      [{ codeFormat: { alphabet: 'UNAMBIGUOUS', prefix: '1' } }, 'codeFormat.prefix'],
      [{ codeFormat: { alphabet: 'BASE64' } }, 'codeFormat.alphabet'],
      [{ codeFormat: { prefix: 'b7' } }, 'codeFormat.prefix'],
      [{ maxCards: 0 }, 'maxCards'],
    ];
    const before = await request('GET', '/v1/programs?limit=100', { token: admin });
    for (const [fields, field] of cases) {
      const refused = await createProgram(fields);
      expect(refused.status, JSON.stringify(fields)).toBe(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.body.code).toBe('VALIDATION_FAILED');
      expect(fieldsOf(refused.body), JSON.stringify(fields)).toContain(field);
    }
    const after = await request('GET', '/v1/programs?limit=100', { token: admin });
    expect(after.body.items.length).toBe(before.body.items.length);

    const [error] = (await createProgram({ codeFormat: { length: 17 } })).body.errors;
    expect(error.message).toContain('needs length >= 18');
  });

  it('changes the format for new cards only, and refuses a change that would break the rule', async () => {
    const created = await createProgram({});
    const programId = created.body.id as string;
    const old = await issue(programId);

    const tooMany = await request('PATCH', `/v1/programs/${programId}`, {
      token: admin,
      body: { maxCards: 100_000_000 },
    });
    expect(tooMany.status).toBe(400);
    expect(fieldsOf(tooMany.body)).toEqual(['maxCards']);
    const tooShort = await request('PATCH', `/v1/programs/${programId}`, {
      token: admin,
      body: { codeFormat: { length: 16 } },
    });
    expect(tooShort.status).toBe(400);
    expect(fieldsOf(tooShort.body)).toEqual(['codeFormat.length']);
    expect((await request('GET', `/v1/programs/${programId}`, { token: admin })).body).toMatchObject({
      codeFormat: { alphabet: 'NUMERIC_LUHN', length: 18, prefix: '1' },
      maxCards: 10_000_000,
    });

    const changed = await request('PATCH', `/v1/programs/${programId}`, {
      token: admin,
      body: { codeFormat: { alphabet: 'UNAMBIGUOUS' }, maxCards: 100_000_000 },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      codeFormat: { alphabet: 'UNAMBIGUOUS', length: 14, prefix: 'B' },
      maxCards: 100_000_000,
    });
    const fresh = await issue(programId);
    expect(fresh.body.code).toMatch(/^B[23456789ABCDEFGHJKMNPQRSTVWXYZ]{13}$/);

    // A partial format keeps the rest of the program's format.
    const longer = await request('PATCH', `/v1/programs/${programId}`, {
      token: admin,
      body: { codeFormat: { length: 16 } },
    });
    expect(longer.status).toBe(200);
    expect(longer.body.codeFormat).toEqual({ alphabet: 'UNAMBIGUOUS', length: 16, prefix: 'B' });
    expect((await lookup(old.body.code)).body.id).toBe(old.body.card.id);
    expect((await lookup(fresh.body.code)).body.id).toBe(fresh.body.card.id);
  });

  it('stops issuing at maxCards, even when asked in parallel', async () => {
    const created = await createProgram({ maxCards: 5 });
    expect(created.status).toBe(201);
    expect(created.body.codeFormat).toEqual({ alphabet: 'NUMERIC_LUHN', length: 12, prefix: '1' });
    // A CONFLICT (issued too fast in this program, nothing written) is retried with the same key, as an
    // integrator would: what must hold is that no more than maxCards are ever issued.
    const issueUntilDecided = async () => {
      const idempotencyKey = randomUUID();
      for (let attempt = 1; ; attempt++) {
        const answer = await request('POST', '/v1/cards', {
          token: admin,
          idempotencyKey,
          body: { programId: created.body.id, type: 'DIGITAL', amount: 2500, activate: true },
        });
        if (answer.status !== 409 || attempt === 5) return answer;
      }
    };
    const results = await Promise.all(Array.from({ length: 12 }, issueUntilDecided));
    const statuses = results.map((result) => result.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    for (const refused of results.filter((result) => result.status !== 201)) {
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('LIMIT_EXCEEDED');
      expect(refused.body.detail).toContain('maxCards 5');
    }
    const cards = await request('GET', `/v1/cards?programId=${created.body.id}&limit=50`, { token: admin });
    expect(cards.body.items).toHaveLength(5);

    const raised = await request('PATCH', `/v1/programs/${created.body.id}`, {
      token: admin,
      body: { maxCards: 6 },
    });
    expect(raised.status).toBe(200);
    expect((await issue(created.body.id)).status).toBe(201);
    expect((await issue(created.body.id)).status).toBe(422);
  });
});
