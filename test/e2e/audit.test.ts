import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/http/route-table';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * The audit trail end to end: staff actions through the local API (card actions projected from their
 * ledger entries by the audit stream consumer; program, merchant, API key, webhook and fraud alert changes
 * written with the change), read through GET /v1/audit by card, actor and date, page by page. No route
 * and no store function can change a record.
 */
let stack: LocalStack;
let apiKey: string;
let programId: string;
let support: string;
let admin: string;
let finance: string;

interface AuditView {
  id: string;
  at: string;
  actor: { type: string; id: string; role: string | null };
  action: string;
  subjectType: string;
  subjectId: string;
  cardId: string | null;
  transactionId: string | null;
  reason: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId } = demo);
  ({ support, admin, finance } = demo.staffTokens);
}, 60_000);
afterAll(async () => stack.stop());

async function call(method: string, path: string, token: string, body: unknown = {}) {
  const answer = await request(method, path, { token, idempotencyKey: randomUUID(), body });
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body;
}

async function audit(
  query: string,
  token = finance,
): Promise<{ items: AuditView[]; nextCursor: string | null }> {
  const answer = await request('GET', `/v1/audit?${query}`, { token });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

/** Every page of a query, following the cursors. */
async function allPages(query: string, limit: number): Promise<AuditView[]> {
  const items: AuditView[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const answer = await audit(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(answer.items.length).toBeLessThanOrEqual(limit);
    items.push(...answer.items);
    cursor = answer.nextCursor;
    if (!cursor) return items;
  }
  throw new Error('more than 100 pages');
}

const today = new Date().toISOString().slice(0, 10);
let cardId: string;
let supportId: string;

describe('the audit trail', () => {
  it('records every staff card action with actor, reason, before and after (merchant actions are not staff actions)', async () => {
    const issued = await call('POST', '/v1/cards', apiKey, {
      programId,
      type: 'DIGITAL',
      amount: 5_000,
      activate: true,
    });
    cardId = issued.card.id;
    await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 1_000 });
    await call('POST', `/v1/cards/${cardId}/adjust`, support, {
      amount: 250,
      reason: 'goodwill for a late delivery',
    });
    await call('POST', `/v1/cards/${cardId}/block`, support, { reason: 'customer reports theft' });
    await call('POST', `/v1/cards/${cardId}/unblock`, support, { reason: 'card found' });
    await call('PUT', `/v1/cards/${cardId}/pin`, apiKey, { pin: '4821' });
    await call('POST', `/v1/cards/${cardId}/pin/reset`, support, { reason: 'customer forgot the PIN' });
    await call('POST', `/v1/cards/${cardId}/adjust`, support, { amount: -50, reason: 'duplicate credit' });
    await call('POST', `/v1/cards/${cardId}/deactivate`, support, { reason: 'replaced by a new card' });
    await stack.poller.drain();

    const { items } = await audit(`cardId=${cardId}`);
    expect(items.map((item) => item.action)).toEqual([
      'card.deactivate',
      'card.adjust-decrement',
      'card.pin-reset',
      'card.unblock',
      'card.block',
      'card.adjust-increment',
    ]);
    for (const item of items) {
      expect(item.actor.type).toBe('staff');
      expect(item.actor.role).toBe('support');
      expect(item.cardId).toBe(cardId);
      expect(item.transactionId).toMatch(/^tx_/);
      expect(item.at.slice(0, 10)).toBe(today);
    }
    supportId = items[0]?.actor.id ?? '';
    const byAction = Object.fromEntries(items.map((item) => [item.action, item]));
    expect(byAction['card.adjust-increment']).toMatchObject({
      reason: 'goodwill for a late delivery',
      before: { balance: 4_000, available: 4_000 },
      after: { balance: 4_250, available: 4_250 },
    });
    expect(byAction['card.block']).toMatchObject({
      reason: 'customer reports theft',
      before: { balance: 4_250, status: 'ACTIVE' },
      after: { balance: 4_250, status: 'BLOCKED' },
    });
    expect(byAction['card.unblock']).toMatchObject({
      reason: 'card found',
      before: { status: 'BLOCKED' },
      after: { status: 'ACTIVE' },
    });
    expect(byAction['card.pin-reset']).toMatchObject({ reason: 'customer forgot the PIN' });
    expect(byAction['card.adjust-decrement']).toMatchObject({
      before: { balance: 4_250 },
      after: { balance: 4_200 },
    });
    // The status before a deactivation is read from the card's earlier entries.
    expect(byAction['card.deactivate']).toMatchObject({
      reason: 'replaced by a new card',
      before: { balance: 4_200, status: 'ACTIVE' },
      after: { balance: 4_200, status: 'DEACTIVATED' },
    });
  }, 60_000);

  it('records a staff cash-out with the value it took', async () => {
    const program = await call('POST', '/v1/programs', admin, {
      name: 'Cash-out allowed',
      currency: 'USD',
      cashOut: { enabled: true },
    });
    const issued = await call('POST', '/v1/cards', support, {
      programId: program.id,
      type: 'DIGITAL',
      amount: 1_200,
      activate: true,
    });
    await call('POST', `/v1/cards/${issued.card.id}/cash-out`, support, {
      reason: 'customer closing account',
    });
    await stack.poller.drain();
    const { items } = await audit(`cardId=${issued.card.id}`);
    // Issue and activation by staff are staff actions too.
    expect(items.map((item) => item.action)).toEqual(['card.clear-balance', 'card.activate', 'card.issue']);
    expect(items[2]).toMatchObject({ before: null, after: { balance: 0, status: 'PENDING' } });
    expect(items[1]).toMatchObject({
      before: { balance: 0, status: 'PENDING' },
      after: { balance: 1_200, status: 'ACTIVE' },
    });
    expect(items[0]).toMatchObject({
      reason: 'customer closing account',
      before: { balance: 1_200, available: 1_200 },
      after: { balance: 0, available: 0 },
    });
  });

  it('records program, merchant, API key, webhook and fraud alert changes with the change, never a secret', async () => {
    const program = await call('POST', '/v1/programs', admin, {
      name: 'Audited',
      currency: 'EUR',
      reason: 'new region launch',
    });
    await call('PATCH', `/v1/programs/${program.id}`, admin, {
      maxLoad: 40_000,
      reason: 'raise the load limit',
    });
    const merchant = await call('POST', '/v1/merchants', admin, {
      name: 'Audit shop',
      reason: 'signed contract',
    });
    await call('PATCH', `/v1/merchants/${merchant.id}`, admin, {
      programs: [program.id],
      reason: 'joins the EUR program',
    });
    const key = await call('POST', `/v1/merchants/${merchant.id}/api-keys`, admin, {
      scopes: ['cards:read'],
      reason: 'till setup',
    });
    const revoked = await request('DELETE', `/v1/merchants/${merchant.id}/api-keys/${key.id}?reason=leaked`, {
      token: admin,
    });
    expect(revoked.status).toBe(200);
    const webhook = await call('POST', '/v1/webhooks', apiKey, {
      url: 'https://hooks.example.com/giftcards',
      events: ['card.issued'],
    });
    const deleted = await request('DELETE', `/v1/webhooks/${webhook.id}?reason=merchant asked by phone`, {
      token: admin,
    });
    expect(deleted.status).toBe(204);

    const ofProgram = (await allPages(`from=${today}&to=${today}`, 50)).filter(
      (item) => item.subjectId === program.id,
    );
    expect(ofProgram.map((item) => [item.action, item.reason])).toEqual([
      ['program.update', 'raise the load limit'],
      ['program.create', 'new region launch'],
    ]);
    expect(ofProgram[0]?.before).toMatchObject({ maxLoad: 50_000 });
    expect(ofProgram[0]?.after).toMatchObject({ maxLoad: 40_000 });
    expect(ofProgram[1]).toMatchObject({ before: null, after: { id: program.id, currency: 'EUR' } });

    const everything = await allPages(`from=${today}&to=${today}`, 50);
    const find = (action: string, subjectId: string) =>
      everything.find((item) => item.action === action && item.subjectId === subjectId);
    expect(find('merchant.create', merchant.id)).toMatchObject({ reason: 'signed contract', before: null });
    expect(find('merchant.update', merchant.id)).toMatchObject({
      before: { programIds: [] },
      after: { programIds: [program.id] },
    });
    const created = find('apiKey.create', key.id);
    expect(created).toMatchObject({ reason: 'till setup', after: { id: key.id, scopes: ['cards:read'] } });
    const revokedRecord = find('apiKey.revoke', key.id);
    expect(revokedRecord).toMatchObject({ reason: 'leaked', after: { id: key.id } });
    expect(revokedRecord?.before).not.toHaveProperty('revokedAt');
    expect(revokedRecord?.after).toHaveProperty('revokedAt');
    expect(find('webhook.delete', webhook.id)).toMatchObject({
      reason: 'merchant asked by phone',
      before: { id: webhook.id, url: 'https://hooks.example.com/giftcards' },
      after: null,
    });
    const serialized = JSON.stringify(everything);
    expect(serialized).not.toContain(key.apiKey);
    expect(serialized).not.toContain(webhook.secret);
    expect(serialized).not.toMatch(/secretHash|sealed/);
  }, 60_000);

  it('records fraud alert acknowledge and resolve with the note as reason, under the card', async () => {
    const { createAlert } = await import('../../functions/store/fraud-alerts');
    const now = new Date().toISOString();
    const alertId = `fa_${'a'.repeat(26)}`;
    await createAlert({
      id: alertId,
      rule: 'LARGE_LOAD',
      severity: 'MEDIUM',
      status: 'OPEN',
      detail: 'test alert',
      block: false,
      cardId,
      programId,
      createdAt: now,
      updatedAt: now,
    } as never);
    await call('POST', `/v1/fraud/alerts/${alertId}/acknowledge`, support, { note: 'looking into it' });
    await call('POST', `/v1/fraud/alerts/${alertId}/resolve`, support, { note: 'legitimate gift' });
    const { items } = await audit(`cardId=${cardId}&limit=2`);
    expect(items.map((item) => [item.action, item.reason, item.before?.status, item.after?.status])).toEqual([
      ['fraudAlert.resolve', 'legitimate gift', 'ACKNOWLEDGED', 'RESOLVED'],
      ['fraudAlert.acknowledge', 'looking into it', 'OPEN', 'ACKNOWLEDGED'],
    ]);
  });

  it('filters by card, actor and date range, and pages through every filter', async () => {
    const byCard = await audit(`cardId=${cardId}&limit=200`);
    const paged = await allPages(`cardId=${cardId}`, 2);
    expect(paged.map((item) => item.id)).toEqual(byCard.items.map((item) => item.id));

    const byActor = await allPages(`actor=${encodeURIComponent(supportId)}`, 3);
    expect(byActor.length).toBeGreaterThanOrEqual(8);
    expect(byActor.every((item) => item.actor.id === supportId)).toBe(true);
    expect(byActor.map((item) => item.at)).toEqual([...byActor.map((item) => item.at)].sort().reverse());

    const bothFilters = await audit(`cardId=${cardId}&actor=${encodeURIComponent(supportId)}&limit=200`);
    expect(bothFilters.items.map((item) => item.id)).toEqual(
      byCard.items.filter((item) => item.actor.id === supportId).map((item) => item.id),
    );

    const day = await allPages(`from=${today}&to=${today}`, 4);
    const dayAll = await audit(`from=${today}&to=${today}&limit=200`);
    expect(day.map((item) => item.id)).toEqual(dayAll.items.map((item) => item.id));
    expect(new Set(day.map((item) => item.id)).size).toBe(day.length);

    // A range that ends before today shows nothing of today.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    expect((await audit(`from=${monthAgo}&to=${yesterday}`)).items).toEqual([]);
    expect((await audit(`cardId=${cardId}&from=${monthAgo}&to=${yesterday}`)).items).toEqual([]);
    // An instant range cuts within the day.
    const middle = byCard.items[2]?.at ?? '';
    const upToMiddle = await audit(`cardId=${cardId}&from=${today}&to=${middle}&limit=200`);
    expect(upToMiddle.items.every((item) => item.at <= middle)).toBe(true);
    expect(upToMiddle.items.length).toBe(byCard.items.filter((item) => item.at <= middle).length);
  });

  it('refuses bad ranges, bad cursors, merchants and ops', async () => {
    for (const query of [
      'from=2026-03-02&to=2026-03-01',
      'from=2020-01-01&to=2026-03-01',
      'from=2026-02-30',
      'from=2026-13-45',
      'from=2026-02-30T10:00:00Z',
      'to=2026-03-01T24:00:00Z',
      'cursor=bm9wZQ',
    ]) {
      const answer = await request('GET', `/v1/audit?${query}`, { token: finance });
      expect(answer.status, query).toBe(400);
      expect(answer.body.code).toBe('VALIDATION_FAILED');
    }
    // A cursor of one card's list is not valid for another's.
    const page = await audit(`cardId=${cardId}&limit=1`);
    const other = await request('GET', `/v1/audit?cardId=gc_${'1'.repeat(26)}&cursor=${page.nextCursor}`, {
      token: finance,
    });
    expect(other.status).toBe(400);
    expect((await request('GET', '/v1/audit', { token: apiKey })).status).toBe(403);
    expect((await request('GET', '/v1/audit', { token: stack.demo?.staffTokens.ops ?? '' })).status).toBe(
      403,
    );
    expect((await request('GET', '/v1/audit', { token: support })).status).toBe(200);
    expect((await request('GET', '/v1/audit', { token: admin })).status).toBe(200);
  });

  it('cannot be altered: no route writes to it, its store cannot update or delete, and a record is written once', async () => {
    const auditRoutes = ROUTES.filter((route) => route.path.startsWith('/v1/audit'));
    expect(auditRoutes.map((route) => route.method)).toEqual(['GET']);
    const [record] = (await audit(`cardId=${cardId}&limit=1`)).items;
    if (!record) throw new Error('no record');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const path of ['/v1/audit', `/v1/audit/${record.id}`]) {
        const answer = await request(method, path, { token: admin, idempotencyKey: randomUUID(), body: {} });
        expect([404, 405], `${method} ${path}`).toContain(answer.status);
      }
    }
    const store = await import('../../functions/store/audit');
    expect(Object.keys(store).filter((name) => /update|delete|remove|patch|change|set/i.test(name))).toEqual(
      [],
    );
    // Recording the same record again, even altered, leaves the first one as it was.
    await store.recordAudit({
      ...(record as never as Parameters<typeof store.recordAudit>[0]),
      reason: 'tampered',
      actor: { type: 'staff', id: 'intruder' },
    });
    const [again] = (await audit(`cardId=${cardId}&limit=1`)).items;
    expect(again).toEqual(record);
  });
});
