import { randomUUID } from 'node:crypto';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { newId } from '../../functions/core/ids';
import { signInCodeHash } from '../../functions/core/member-session';
import openApiJson from '../../functions/http/openapi.json';
import { ROUTES, routeKey } from '../../functions/http/route-table';
import { putChallenge } from '../../functions/store/member-sessions';
import { sealingPepper } from '../../functions/store/secrets';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import type { ALL_OPERATIONS } from '../../local/openapi-document';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { mailbox } from '../support/mailbox';
import { fetchBytes, passJsonOf } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * The response schemas the OpenAPI document (and through it the web apps' typed client) publishes are
 * true: one happy-path request for every route that answers JSON, each answer parsed with the route's
 * declared `response` schema. Strict both ways: a key the schema lacks is stripped by the parse, so the
 * parsed answer differs from the real one; a key the answer lacks fails the parse.
 */
let stack: LocalStack;
let admin: string;
let finance: string;
let ops: string;
let operations: typeof ALL_OPERATIONS;
/** The answers by route key (`POST /v1/cards`): the last one for each route. */
const answers = new Map<string, { status: number; body: unknown }>();

/** Calls the route (a template of the route table) with the path's ids filled in, and records the answer. */
async function call(
  key: string,
  ids: Record<string, string>,
  options: {
    token?: string;
    body?: unknown;
    query?: string;
    idempotencyKey?: string;
    headers?: Record<string, string>;
  } = {},
) {
  const [method = 'GET', template = ''] = key.split(' ');
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const id = ids[name];
    if (id === undefined) throw new Error(`${key}: no ${name}`);
    return encodeURIComponent(id);
  });
  const answer = await request(method, `${path}${options.query ?? ''}`, {
    ...(options.token ? { token: options.token } : {}),
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.headers ? { headers: options.headers } : {}),
    idempotencyKey: options.idempotencyKey ?? (method === 'POST' ? randomUUID() : ''),
  });
  expect(answer.status, `${key} -> ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  answers.set(key, { status: answer.status, body: answer.body });
  // biome-ignore lint/suspicious/noExplicitAny: the walk reads ids out of answers field by field.
  return answer.body as any;
}

beforeAll(async () => {
  stack = await startTestStack({ consumers: STREAM_CONSUMERS, mailCatcher: { smtpPort: 0, webPort: 0 } });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  finance = demo.staffTokens.finance;
  ops = demo.staffTokens.ops;
  // The route groups' modules load after the stack has set the handlers' environment (log level, names).
  ({ ALL_OPERATIONS: operations } = await import('../../local/openapi-document'));
  await walk();
  // The walk runs an export and a bulk batch to their end and a member earning from the stream, besides
  // every route: on a loaded 2-core machine it takes over a minute.
}, 180_000);
afterAll(async () => stack.stop());

const today = () => new Date().toISOString().slice(0, 10);

/** Every route that answers JSON, in an order that gives each the entities it needs. */
async function walk() {
  const ids: Record<string, string> = {};
  await call('GET /health', ids);
  await call('GET /openapi.json', ids);

  const program = await call('POST /v1/programs', ids, {
    token: admin,
    body: {
      name: 'Contract',
      currency: 'USD',
      cashOut: { enabled: true },
      checkLimits: { failuresPerCaller: 50 },
      fraudRules: { LARGE_LOAD: { threshold: 5_000 } },
    },
  });
  ids.programId = program.id;
  await call('GET /v1/programs', ids, { token: admin });
  await call('GET /v1/programs/{programId}', ids, { token: admin });
  await call('PATCH /v1/programs/{programId}', ids, { token: admin, body: { name: 'Contract terms' } });

  const merchant = await call('POST /v1/merchants', ids, {
    token: admin,
    body: { name: 'Contract shop', programs: [program.id] },
  });
  ids.merchantId = merchant.id;
  await call('GET /v1/merchants', ids, { token: admin });
  await call('GET /v1/merchants/{merchantId}', ids, { token: admin });
  await call('PATCH /v1/merchants/{merchantId}', ids, { token: admin, body: { usagePlan: 'standard' } });
  const key = await call('POST /v1/merchants/{merchantId}/api-keys', ids, {
    token: admin,
    body: { description: 'till' },
  });
  const merchantKey: string = key.apiKey;
  const spare = await call('POST /v1/merchants/{merchantId}/api-keys', ids, { token: admin, body: {} });
  ids.keyId = spare.id;
  await call('GET /v1/merchants/{merchantId}/api-keys', ids, { token: admin });
  const rotated = await call('POST /v1/merchants/{merchantId}/api-keys/{keyId}/rotate', ids, {
    token: admin,
    body: { gracePeriodSeconds: 60 },
  });
  ids.keyId = rotated.id;
  await call('DELETE /v1/merchants/{merchantId}/api-keys/{keyId}', ids, { token: admin });

  // A webhook to a port nobody listens on: its deliveries fail until they are DEAD.
  const webhook = await call('POST /v1/webhooks', ids, {
    token: merchantKey,
    body: { url: 'http://127.0.0.1:9/hooks', events: ['card.issued'] },
  });
  ids.webhookId = webhook.id;
  await call('GET /v1/webhooks', ids, { token: merchantKey });
  await call('POST /v1/webhooks/{webhookId}/rotate-secret', ids, { token: merchantKey, body: {} });

  const issue = (amount: number, extra: Record<string, unknown> = {}) =>
    call('POST /v1/cards', ids, {
      token: merchantKey,
      body: { programId: program.id, type: 'DIGITAL', amount, activate: true, ...extra },
    });
  // An export started early runs alongside the walk; its files and totals are read at the end.
  const started = await call('POST /v1/exports', ids, { token: finance, body: { month: '2026-10' } });
  ids.exportId = started.id;

  const first = await issue(3_000, { metadata: { order: 'A-1' }, customer: { id: 'cust-1' } });
  ids.cardId = first.card.id;
  const other = await issue(1_000);
  const large = await issue(6_000);
  await call('GET /v1/cards', ids, { token: admin, query: `?programId=${program.id}` });
  await call('POST /v1/cards/lookup', ids, {
    token: merchantKey,
    body: { code: first.code },
    idempotencyKey: '',
  });
  await call('GET /v1/cards/{cardId}', ids, { token: merchantKey });

  const pending = await call('POST /v1/cards', ids, {
    token: merchantKey,
    body: { programId: program.id, type: 'PHYSICAL' },
  });
  await call(
    'POST /v1/cards/{cardId}/activate',
    { cardId: pending.card.id },
    {
      token: merchantKey,
      body: { amount: 500 },
    },
  );
  await call('POST /v1/cards/{cardId}/load', ids, { token: merchantKey, body: { amount: 500 } });
  const redeemKey = randomUUID();
  // Another key for the timed-out redemption: the last character changed (a UUID may end in 'f' already).
  const otherRedeemKey = redeemKey.replace(/.$/, (last) => (last === 'f' ? 'e' : 'f'));
  const redeemed = await call('POST /v1/cards/{cardId}/redeem', ids, {
    token: merchantKey,
    body: { amount: 200 },
    idempotencyKey: redeemKey,
  });
  await call('POST /v1/cards/{cardId}/adjust', ids, { token: admin, body: { amount: -50, reason: 'count' } });
  await call('POST /v1/cards/{cardId}/block', ids, { token: admin, body: { reason: 'lost' } });
  await call('POST /v1/cards/{cardId}/unblock', ids, { token: admin, body: { reason: 'found' } });
  await call('GET /v1/cards/{cardId}/transactions', ids, { token: merchantKey });
  await call('POST /v1/cards/{cardId}/refund', ids, { token: merchantKey, body: { amount: 150 } });
  const hold = await call('POST /v1/cards/{cardId}/holds', ids, {
    token: merchantKey,
    body: { amount: 100 },
  });
  ids.holdId = hold.hold.id;
  await call('GET /v1/cards/{cardId}/holds', ids, { token: merchantKey });
  await call('GET /v1/cards/{cardId}/holds/{holdId}', ids, { token: merchantKey });
  await call('POST /v1/cards/{cardId}/holds/{holdId}/capture', ids, {
    token: merchantKey,
    body: { amount: 60 },
  });
  const second = await call('POST /v1/cards/{cardId}/holds', ids, {
    token: merchantKey,
    body: { amount: 100 },
  });
  await call(
    'POST /v1/cards/{cardId}/holds/{holdId}/void',
    { ...ids, holdId: second.hold.id },
    {
      token: merchantKey,
      body: {},
    },
  );
  await call('POST /v1/cards/{cardId}/transfer', ids, {
    token: merchantKey,
    body: { toCardId: other.card.id, amount: 100 },
  });
  await call(
    'PUT /v1/cards/{cardId}/pin',
    { cardId: other.card.id },
    { token: merchantKey, body: { pin: '4827' } },
  );
  await call(
    'POST /v1/cards/{cardId}/pin/reset',
    { cardId: other.card.id },
    {
      token: admin,
      body: { reason: 'forgotten' },
    },
  );
  await call('GET /v1/cards/{cardId}/pin', ids, { token: admin });
  await call('GET /v1/cards/{cardId}/wallet/registrations', ids, { token: admin });

  ids.transactionId = redeemed.transaction.id;
  await call('GET /v1/transactions/{transactionId}', ids, { token: merchantKey });
  await call('POST /v1/transactions/{transactionId}/reverse', ids, { token: merchantKey, body: {} });
  await call('POST /v1/cards/{cardId}/redeem', ids, {
    token: merchantKey,
    body: { amount: 100 },
    idempotencyKey: otherRedeemKey,
  });
  await call('POST /v1/reversals', ids, {
    token: merchantKey,
    body: { idempotencyKey: otherRedeemKey },
  });

  // Wallets: the pass's token registers a device, whose list of updated passes is JSON.
  await call('GET /v1/cards/{cardId}/wallet/google', ids, { token: merchantKey });
  const pass = await fetchBytes(`${stack.baseUrl}/v1/cards/${first.card.id}/wallet/apple`, {
    headers: { Authorization: `Bearer ${merchantKey}` },
  });
  const passJson = passJsonOf(pass.bytes);
  ids.passTypeIdentifier = passJson.passTypeIdentifier;
  ids.deviceLibraryIdentifier = `dev${randomUUID().replaceAll('-', '')}`;
  ids.serialNumber = first.card.id;
  const registered = await request(
    'POST',
    `/wallet/apple/v1/devices/${ids.deviceLibraryIdentifier}/registrations/${ids.passTypeIdentifier}/${first.card.id}`,
    {
      headers: { Authorization: `ApplePass ${passJson.authenticationToken}` },
      body: { pushToken: 'ab'.repeat(32) },
    },
  );
  expect(registered.status).toBe(201);
  await call(
    'GET /wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}',
    ids,
  );
  await call('POST /v1/cards/{cardId}/wallet/messages', ids, {
    token: merchantKey,
    body: { header: 'Hello', body: 'Thanks for shopping' },
  });
  await call('POST /v1/programs/{programId}/wallet/messages', ids, {
    token: admin,
    body: { header: 'Sale', body: 'This weekend only' },
  });

  // The card holder's portal, by code.
  const portal = await call('POST /v1/portal/balance', ids, {
    body: { code: large.code },
    idempotencyKey: '',
  });
  ids.walletToken = portal.walletToken;
  await call('GET /v1/portal/wallet/google/{walletToken}', ids);
  await call('POST /v1/portal/transfer', ids, {
    body: { code: large.code, toCode: first.code, amount: 100 },
  });

  // The stream consumers: the large load's fraud alert, the webhook's deliveries (dead after a day).
  await stack.poller.drain();
  const { runWebhookRetries } = await import('../../functions/scheduled/webhook-retries');
  const { logger } = await import('../../functions/logger');
  const quiet = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  await runWebhookRetries({ now: new Date(Date.now() + 3_600_000) });
  await runWebhookRetries({ now: new Date(Date.now() + 25 * 3_600_000) });
  quiet.mockRestore();
  const deliveries = await call('GET /v1/webhooks/{webhookId}/deliveries', ids, {
    token: merchantKey,
    query: '?status=DEAD',
  });
  ids.deliveryId = deliveries.items[0]?.id;
  await call('POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry', ids, { token: ops, body: {} });

  const alerts = await call('GET /v1/fraud/alerts', ids, { token: admin, query: `?cardId=${large.card.id}` });
  ids.alertId = alerts.items[0]?.id;
  await call('GET /v1/fraud/alerts/{alertId}', ids, { token: admin });
  await call('POST /v1/fraud/alerts/{alertId}/acknowledge', ids, { token: admin, body: { note: 'looking' } });
  await call('POST /v1/fraud/alerts/{alertId}/resolve', ids, { token: admin, body: { note: 'customer' } });

  // Support replaces a card; the old one is deactivated. Then one more card, cashed out and deactivated.
  await call(
    'POST /v1/cards/{cardId}/reissue',
    { cardId: other.card.id },
    {
      token: admin,
      body: { reason: 'damaged', channel: 'CONSOLE' },
    },
  );
  await call('POST /v1/cards/{cardId}/cash-out', ids, { token: admin, body: { reason: 'moving away' } });
  await call('POST /v1/cards/{cardId}/deactivate', ids, { token: admin, body: { reason: 'closed' } });

  await loyaltyWalk(ids, program.id, merchantKey);
  await bulkBatch(ids, program.id);
  await egift(ids, program.id);

  const range = `?from=${today()}&to=${today()}`;
  await call('GET /v1/reports/summary', ids, { token: finance, query: range });
  await call('GET /v1/reports/daily', ids, { token: finance, query: range });
  // This month's cohort: the cards issued above.
  const breakage = await call('GET /v1/reports/breakage', ids, {
    token: finance,
    query: `?currency=USD&asOf=${today().slice(0, 7)}`,
  });
  expect(breakage.cohorts.length).toBeGreaterThan(0);
  const invoices = await call('GET /v1/reports/bulk-invoices', ids, { token: finance, query: range });
  expect(invoices.items.length).toBeGreaterThan(0);
  await call('GET /v1/audit', ids, { token: admin });

  await exportDone(ids);
  await call('GET /v1/exports', ids, { token: finance });

  await stack.scheduler.runNow('hold-expiry');
  await call('GET /v1/ops/queues', ids, { token: ops });
  await call('GET /v1/ops/job-runs', ids, { token: ops });
  await call('DELETE /v1/webhooks/{webhookId}', ids, { token: merchantKey });

  // Activation at the till, by the scanned code of a pending card.
  const scanned = await call('POST /v1/cards', ids, {
    token: merchantKey,
    body: { programId: program.id, type: 'PHYSICAL' },
  });
  await call('POST /v1/cards/activate', ids, {
    token: merchantKey,
    body: { code: scanned.code, amount: 1_000, channel: 'POS' },
  });
  await productionWalk(ids);
}

/** Physical card production: a printer, a small order, its file links, cartons, a shipment, a store. */
async function productionWalk(ids: Record<string, string>) {
  const keys = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Contract printer' }],
    format: 'armored',
  });
  const printer = await call('POST /v1/production/printers', ids, {
    token: admin,
    body: { name: 'Contract printer', publicKey: keys.publicKey },
  });
  await call('GET /v1/production/printers', ids, { token: ops });
  const order = await call('POST /v1/production/orders', ids, {
    token: ops,
    body: {
      programId: ids.programId,
      count: 20,
      denomination: 2_500,
      withPin: false,
      artworkRef: 'CONTRACT',
      printerId: printer.id,
      cartonCards: 10,
      magstripe: { serviceCode: '721' },
      qrUrlTemplate: 'https://gift.example.com/b?c={code}',
    },
  });
  ids.orderId = order.id;
  await call('POST /v1/production/orders/{orderId}/resume', ids, { token: ops });
  for (let attempt = 0; attempt < 120; attempt++) {
    const read = await call('GET /v1/production/orders/{orderId}', ids, { token: ops });
    if (read.generation === 'DONE') break;
    expect(read.generation, read.error).not.toBe('FAILED');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await call('GET /v1/production/orders', ids, { token: ops });
  await call('POST /v1/production/orders/{orderId}/downloads', ids, { token: ops });
  await call('POST /v1/production/orders/{orderId}/printed', ids, { token: ops });
  await call('GET /v1/production/orders/{orderId}/cartons', ids, { token: ops });
  const shipment = await call('POST /v1/production/shipments', ids, {
    token: ops,
    body: { orderId: order.id, storeId: 'store-9', cartons: [1] },
  });
  ids.shipmentId = shipment.id;
  await call('GET /v1/production/shipments/{shipmentId}', ids, { token: ops });
  await call('POST /v1/production/shipments/{shipmentId}/receive', ids, { token: ops });
  ids.carton = '2';
  await call('POST /v1/production/orders/{orderId}/cartons/{carton}/deactivate', ids, {
    token: ops,
    body: { reason: 'lost in transit' },
  });
  ids.storeId = 'store-9';
  await call('GET /v1/production/stores/{storeId}/inventory', ids, { token: ops });
}

/** E-gift orders (issue #19): one sent now (claimed, resent), one scheduled (moved, cancelled). */
async function egift(ids: Record<string, string>, programId: string) {
  const inDays = (days: number) =>
    `${new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)}T09:00`;
  const support = stack.demo?.staffTokens.support ?? '';
  const now = await call('POST /v1/egift-orders', ids, {
    token: admin,
    body: { programId, amount: 1_000, recipient: { email: 'contract@example.com' }, senderName: 'Contract' },
  });
  const mail = await mailbox(stack).waitFor('contract@example.com');
  const token = /#token=([A-Za-z0-9_-]{43})/.exec(mail.text)?.[1] ?? '';
  await call('POST /v1/portal/claim', ids, { body: { token } });
  await call('GET /v1/cards/{cardId}/delivery', { cardId: now.card.id }, { token: support });
  await call(
    'POST /v1/cards/{cardId}/delivery/resend',
    { cardId: now.card.id },
    {
      token: support,
      body: { reason: 'lost it' },
    },
  );
  const later = await call('POST /v1/egift-orders', ids, {
    token: admin,
    body: {
      programId,
      amount: 1_000,
      recipient: { email: 'later@example.com' },
      senderName: 'Contract',
      deliverAt: { localTime: inDays(30), timeZone: 'Europe/Paris' },
    },
  });
  const scheduled = { cardId: later.card.id };
  await call('PATCH /v1/cards/{cardId}/delivery', scheduled, {
    token: admin,
    body: { deliverAt: { localTime: inDays(31), timeZone: 'Europe/Paris' } },
  });
  await call('POST /v1/cards/{cardId}/delivery/cancel', scheduled, { token: admin, body: {} });
}

/** A 3-row bulk batch (issue #19): opened, its CSV uploaded, submitted, followed until it ran. */
async function bulkBatch(ids: Record<string, string>, programId: string) {
  const { publicKey } = await openpgp.generateKey({
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Contract' }],
  });
  const opened = await call('POST /v1/bulk-batches', ids, {
    token: admin,
    body: { programId, customerName: 'Contract Ltd', output: 'CODES', recipientKey: publicKey },
  });
  ids.batchId = opened.batch.id;
  const csv = 'reference,amount,recipient_name\r\nC-1,1000,Ann\r\nC-2,2000,Bob\r\nC-3,3000,Cyd\r\n';
  expect((await fetch(opened.uploadUrl, { method: 'PUT', body: csv })).status).toBe(200);
  await call('POST /v1/bulk-batches/{batchId}/submit', ids, { token: admin, body: {} });
  for (let attempt = 0; attempt < 80; attempt++) {
    const batch = await call('GET /v1/bulk-batches/{batchId}', ids, { token: admin });
    if (batch.status === 'SUCCEEDED') break;
    expect(batch.status, JSON.stringify(batch)).toBe('RUNNING');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await call('GET /v1/bulk-batches', ids, { token: finance });
}

/** Reads the export until it has SUCCEEDED (its files and totals then show), at most 20 s. */
async function exportDone(ids: Record<string, string>) {
  for (let attempt = 0; attempt < 80; attempt++) {
    const run = await call('GET /v1/exports/{exportId}', ids, { token: finance });
    if (run.status === 'SUCCEEDED') return expect(run.files.length).toBeGreaterThan(0);
    expect(run.status, JSON.stringify(run)).not.toBe('FAILED');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the export did not finish in 20 s');
}

/** Loyalty: a program, a member signed in with a one-time code, a linked card earning, a reward, a promotion. */
async function loyaltyWalk(ids: Record<string, string>, cardProgramId: string, merchantKey: string) {
  const loyalty = await call('POST /v1/loyalty/programs', ids, {
    token: admin,
    body: {
      name: 'Contract loyalty',
      cardProgramIds: [cardProgramId],
      currency: 'USD',
      earn: { pointsPerUnitRedeemed: 100, firstUseBonus: 10 },
      tiers: [
        { name: 'BASE', minPoints: 0, earnMultiplierPercent: 100 },
        { name: 'GOLD', minPoints: 100_000, earnMultiplierPercent: 150 },
      ],
      expireAfterMonths: 24,
      pointValueMilliMinor: 1_000,
    },
  });
  ids.loyaltyProgramId = loyalty.id;
  await call('GET /v1/loyalty/programs', ids, { token: admin });
  await call('GET /v1/loyalty/programs/{loyaltyProgramId}', ids, { token: admin });
  const member = await call('POST /v1/loyalty/programs/{loyaltyProgramId}/members', ids, {
    body: {
      channel: 'EMAIL',
      contact: `contract-${randomUUID()}@example.com`,
      consent: { termsVersion: '1', accepted: true, marketing: true },
    },
  });
  ids.memberId = member.id;
  // A contact nobody registered gets the same answer (and no message).
  await call('POST /v1/loyalty/programs/{loyaltyProgramId}/sign-in', ids, {
    body: { channel: 'SMS', contact: '+15550100999' },
  });
  const challengeId = newId('sgn');
  await putChallenge({
    challengeId,
    loyaltyProgramId: loyalty.id,
    memberId: member.id,
    codeHash: signInCodeHash(await sealingPepper(), challengeId, '654321'),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  });
  const session = await call('POST /v1/loyalty/sign-in/verify', ids, {
    body: { challengeId, code: '654321' },
  });
  const me = { token: session.token as string };
  const issued = await call('POST /v1/cards', ids, {
    token: merchantKey,
    body: { programId: cardProgramId, type: 'DIGITAL', amount: 10_000, activate: true },
  });
  const linked = await call('POST /v1/members/me/cards', ids, { ...me, body: { code: issued.code } });
  ids.cardId = linked.cardId;
  await call('GET /v1/members/me/cards', ids, me);
  await call('POST /v1/cards/{cardId}/redeem', ids, { token: merchantKey, body: { amount: 1_000 } });
  for (let attempt = 0; attempt < 100; attempt++) {
    const profile = await call('GET /v1/members/me', ids, me);
    if (profile.pointsBalance > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await call('GET /v1/members/me/points', ids, me);
  await call('GET /v1/loyalty/members/{memberId}', ids, { token: admin });
  await call('GET /v1/loyalty/programs/{loyaltyProgramId}/members', ids, { token: admin });
  const reward = await call('POST /v1/loyalty/programs/{loyaltyProgramId}/rewards', ids, {
    token: admin,
    body: { name: 'Five dollars', pointsCost: 500, valueMinor: 500 },
  });
  ids.rewardId = reward.id;
  await call('GET /v1/loyalty/programs/{loyaltyProgramId}/rewards', ids, { token: admin });
  await call('GET /v1/members/me/rewards', ids, me);
  const redemptionKey = randomUUID();
  await call('POST /v1/members/me/rewards/{rewardId}/redeem', ids, {
    ...me,
    idempotencyKey: redemptionKey,
    body: { cardId: ids.cardId },
  });
  await call('POST /v1/members/me/rewards/reversals', ids, {
    ...me,
    body: { idempotencyKey: redemptionKey },
  });
  const promotion = await call('POST /v1/loyalty/programs/{loyaltyProgramId}/promotions', ids, {
    token: admin,
    body: { header: 'Double points', body: 'This weekend only', target: { tiers: ['BASE'] } },
  });
  ids.promotionId = promotion.id;
  await call('GET /v1/loyalty/programs/{loyaltyProgramId}/promotions/{promotionId}', ids, { token: admin });
  await call('GET /v1/members/me/export', ids, me);
  await call('GET /v1/reports/loyalty', ids, { token: finance, query: `?from=${today()}&to=${today()}` });
  await call('POST /v1/members/me/sessions/revoke-all', ids, { ...me, body: {} });
}

const operationOf = (key: string) => {
  const route = ROUTES.find((candidate) => routeKey(candidate) === key);
  return route ? operations[route.fn][key] : undefined;
};

type Documented = { responses: Record<string, { content?: Record<string, unknown> }> };
const paths = openApiJson.paths as unknown as Record<string, Record<string, Documented>>;

/** The routes whose success the document says is JSON (each declares its schema: the openapi test). */
const jsonRoutes = ROUTES.filter((route) =>
  Object.entries(paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {}).some(
    ([status, answer]) => status.startsWith('2') && answer.content?.['application/json'] !== undefined,
  ),
).map(routeKey);

describe('every JSON answer matches its declared response schema', () => {
  it('the walk reached every route that answers JSON', () => {
    expect(jsonRoutes.length).toBeGreaterThan(50);
    expect(jsonRoutes.filter((key) => !answers.has(key))).toEqual([]);
  });

  it.each(jsonRoutes)('%s', async (key) => {
    const declared = operationOf(key)?.response;
    expect(declared, `${key} declares no response schema`).toBeDefined();
    // A route group may load its schemas on first use (api-handler.ts SchemaSource).
    const schema = typeof declared === 'function' ? await declared() : (declared as z.ZodType);
    const answer = answers.get(key);
    expect(answer, key).toBeDefined();
    const parsed = schema.safeParse(answer?.body);
    expect(parsed.error?.issues ?? [], key).toEqual([]);
    // Parsing drops keys the schema does not name: the same value back means none was left out.
    expect(parsed.data).toStrictEqual(answer?.body);
  });
});
