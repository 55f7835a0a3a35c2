import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../functions/http/route-table';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { type PrinterKeys, placeOrder, printerKeyPair, registerPrinter } from '../support/production';
import { startTestStack } from '../support/stack';

/**
 * Support staff can do nothing that is admin's (or ops') alone: for every route whose access names
 * admin but not support, a support user with a VALID request on REAL resources gets 403 FORBIDDEN and
 * changes nothing, while the same request from an admin gets past authorisation. A route added to the
 * table with such access fails here until it has a sample request below.
 */
let stack: LocalStack;
let admin: string;
let support: string;
let apiKey: string;
let printerKeys: PrinterKeys;
const ids: Record<string, string> = {};

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  support = demo.staffTokens.support;
  apiKey = demo.apiKey;
  ids.programId = demo.programId;
  ids.merchantId = demo.merchantId;
  const key = await request('POST', `/v1/merchants/${demo.merchantId}/api-keys`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { description: 'kept' },
  });
  ids.keyId = key.body.id;
  const webhook = await request('POST', '/v1/webhooks', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { url: 'http://127.0.0.1:9/hooks', events: ['card.issued'] },
  });
  expect(webhook.status).toBe(201);
  ids.webhookId = webhook.body.id;
  ids.deliveryId = `whd_${'1'.repeat(26)}`;
  const loyalty = await request('POST', '/v1/loyalty/programs', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: loyaltyProgram('Kept loyalty'),
  });
  expect(loyalty.status, JSON.stringify(loyalty.body)).toBe(201);
  ids.loyaltyProgramId = loyalty.body.id;
  // A small generated order of three cartons, printed, carton 1 shipped to a store.
  printerKeys = await printerKeyPair();
  ids.printerId = await registerPrinter(admin, printerKeys);
  const order = await placeOrder(admin, productionOrder());
  ids.orderId = order.id;
  ids.carton = '3';
  ids.storeId = 'store-1';
  await request('POST', `/v1/production/orders/${order.id}/printed`, { token: admin });
  const shipment = await request('POST', '/v1/production/shipments', {
    token: admin,
    body: { orderId: order.id, storeId: ids.storeId, cartons: [1] },
  });
  expect(shipment.status, JSON.stringify(shipment.body)).toBe(201);
  ids.shipmentId = shipment.body.id;
}, 180_000);
afterAll(async () => stack.stop());

const path = (template: string) => template.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? name);

const loyaltyProgram = (name: string) => ({
  name,
  cardProgramIds: [ids.programId],
  currency: 'USD',
  earn: { pointsPerUnitRedeemed: 1 },
  pointValueMilliMinor: 1000,
});
const productionOrder = () => ({
  programId: ids.programId,
  count: 30,
  withPin: false,
  artworkRef: 'ART-ADMIN-ONLY',
  printerId: ids.printerId,
  layout: 'CSV',
  cartonCards: 10,
});

/**
 * A valid request for each route admin may call and support may not (a function where it names a
 * resource made in beforeAll).
 */
const SAMPLES: Record<string, unknown> = {
  'POST /v1/programs': { name: 'Support tried', currency: 'USD' },
  'PATCH /v1/programs/{programId}': { name: 'Renamed by support' },
  'POST /v1/merchants': { name: 'Support tried' },
  'PATCH /v1/merchants/{merchantId}': { name: 'Renamed by support', usagePlan: 'standard' },
  'POST /v1/merchants/{merchantId}/api-keys': { description: 'support tried' },
  'GET /v1/merchants/{merchantId}/api-keys': undefined,
  'POST /v1/merchants/{merchantId}/api-keys/{keyId}/rotate': { gracePeriodSeconds: 60 },
  'DELETE /v1/merchants/{merchantId}/api-keys/{keyId}': undefined,
  'GET /v1/webhooks': undefined,
  'DELETE /v1/webhooks/{webhookId}': undefined,
  'GET /v1/webhooks/{webhookId}/deliveries': undefined,
  'POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry': {},
  'GET /v1/reports/summary': undefined,
  'GET /v1/reports/daily': undefined,
  'GET /v1/reports/breakage': undefined,
  'GET /v1/reports/bulk-invoices': undefined,
  'POST /v1/exports': { month: '2026-10' },
  'GET /v1/exports': undefined,
  'GET /v1/exports/{exportId}': undefined,
  'GET /v1/ops/queues': undefined,
  'GET /v1/ops/job-runs': undefined,
  'POST /v1/loyalty/programs': () => loyaltyProgram('Support tried'),
  'POST /v1/loyalty/programs/{loyaltyProgramId}/rewards': {
    name: 'Support tried',
    pointsCost: 100,
    valueMinor: 1000,
  },
  'GET /v1/reports/loyalty': undefined,
  'POST /v1/production/printers': () => ({ name: 'Support tried', publicKey: printerKeys.publicKey }),
  'GET /v1/production/printers': undefined,
  'POST /v1/production/orders': productionOrder,
  'GET /v1/production/orders': undefined,
  'GET /v1/production/orders/{orderId}': undefined,
  'POST /v1/production/orders/{orderId}/resume': undefined,
  'POST /v1/production/orders/{orderId}/printed': undefined,
  'POST /v1/production/orders/{orderId}/downloads': undefined,
  'GET /v1/production/orders/{orderId}/cartons': undefined,
  'POST /v1/production/orders/{orderId}/cartons/{carton}/deactivate': { reason: 'lost in transit' },
  'POST /v1/production/shipments': () => ({ orderId: ids.orderId, storeId: ids.storeId, cartons: [2] }),
  'GET /v1/production/shipments/{shipmentId}': undefined,
  'POST /v1/production/shipments/{shipmentId}/receive': undefined,
  'GET /v1/production/stores/{storeId}/inventory': undefined,
};
const sample = (key: string): unknown => {
  const value = SAMPLES[key];
  return typeof value === 'function' ? value() : value;
};

const adminOnly = ROUTES.filter(
  (route) =>
    !route.access.public && route.access.staff?.includes('admin') && !route.access.staff.includes('support'),
);
/** Staff name the merchant whose webhooks they list. */
const QUERIES: Record<string, () => string> = {
  'GET /v1/webhooks': () => `?merchantId=${ids.merchantId}`,
  'GET /v1/reports/summary': () => '?from=2026-11-01&to=2026-11-02',
  'GET /v1/reports/daily': () => '?from=2026-11-01&to=2026-11-02',
  'GET /v1/reports/breakage': () => '?currency=USD',
  'GET /v1/reports/bulk-invoices': () => '?from=2026-11-01&to=2026-11-02',
  'GET /v1/reports/loyalty': () => '?from=2026-11-01&to=2026-11-02',
};
const query = (key: string) => QUERIES[key]?.() ?? '';

async function snapshot() {
  const read = async (p: string) => (await request('GET', p, { token: admin })).body;
  const webhooks = await request('GET', `/v1/webhooks?merchantId=${ids.merchantId}`, { token: admin });
  return {
    programs: await read('/v1/programs?limit=200'),
    merchants: await read('/v1/merchants?limit=200'),
    keys: await read(`/v1/merchants/${ids.merchantId}/api-keys?limit=200`),
    webhooks: webhooks.body,
  };
}

describe('support cannot do admin actions', () => {
  it('every admin-only route has a sample request', () => {
    expect(adminOnly.length).toBeGreaterThan(0);
    expect(adminOnly.map(routeKey).filter((key) => !(key in SAMPLES))).toEqual([]);
  });

  it('a support user gets 403 on each and changes nothing; an admin gets past authorisation', async () => {
    const before = await snapshot();
    for (const route of adminOnly) {
      const body = sample(routeKey(route));
      const refused = await request(route.method, path(route.path) + query(routeKey(route)), {
        token: support,
        idempotencyKey: randomUUID(),
        ...(body === undefined ? {} : { body }),
      });
      expect(refused.status, routeKey(route)).toBe(403);
      expect(refused.body, routeKey(route)).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect(await snapshot()).toEqual(before);

    // The same requests were valid: an admin's pass authorisation (the DELETEs last, they change state).
    const ordered = [...adminOnly].sort(
      (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
    );
    for (const route of ordered) {
      const body = sample(routeKey(route));
      const allowed = await request(route.method, path(route.path) + query(routeKey(route)), {
        token: admin,
        idempotencyKey: randomUUID(),
        ...(body === undefined ? {} : { body }),
      });
      expect([401, 403], `${routeKey(route)} -> ${allowed.status}`).not.toContain(allowed.status);
      // The delivery and export ids are made up; the order was marked printed already (to ship a
      // carton), so marking it again is a conflict; everything else exists and succeeds.
      if (routeKey(route) === 'POST /v1/production/orders/{orderId}/printed')
        expect(allowed.status, routeKey(route)).toBe(409);
      else if (!/\{(deliveryId|exportId)\}/.test(route.path))
        expect(allowed.status, routeKey(route)).toBeLessThan(300);
    }
  });
});
