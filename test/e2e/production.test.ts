import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cardIdForCode } from '../../functions/core/card-code';
import { pinMatches } from '../../functions/core/pin';
import { decodedCodes, type PrinterRow } from '../../functions/core/production/printer-row';
import { decodeTrack2Bits } from '../../functions/core/production/track2';
import { logger } from '../../functions/logger';
import { batchGet } from '../../functions/store/listing';
import { findPin } from '../../functions/store/pins';
import { codePeppers } from '../../functions/store/secrets';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { decryptOrderFile, type PrinterKeys, printerKeyPair, waitForOrder } from '../support/production';
import { startTestStack } from '../support/stack';

/**
 * Physical cards end to end on the local stack (docs/production.md): a printer is registered with its
 * OpenPGP public key; an order of 10,000 open-value cards (no PIN) and one of 50 fixed-value cards with
 * PINs are generated in the background; their printer files, fetched through the audited download links
 * and decrypted with the printer's private key, name every card once: each code is a PENDING card of the
 * order's program, each barcode, QR and track 2 (parity, LRC) decodes back to its code, each PIN verifies.
 * A till activates a card and a timeout reversal by its key takes it back to PENDING with nothing loaded;
 * a lost carton's cards are refused at the till; no code or PIN reaches the log or any file written.
 */
const BIG_ORDER = 10_000;
const PIN_ORDER = 50;
const CARTON = 100;

let stack: LocalStack;
let admin: string;
let ops: string;
let apiKey: string;
let programId: string;
let printerKeys: PrinterKeys;
let printerId: string;
const logText: string[] = [];

function captureLog(): void {
  for (const level of ['debug', 'info', 'warn', 'error', 'critical'] as const) {
    const original = logger[level].bind(logger) as (...args: unknown[]) => void;
    vi.spyOn(logger, level).mockImplementation(((...args: unknown[]) => {
      logText.push(args.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' '));
      original(...args);
    }) as typeof logger.info);
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      logText.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof stream.write);
  }
}

async function cardsOf(codes: readonly string[]) {
  const peppers = await codePeppers();
  const ids = codes.map((code) => cardIdForCode(code, peppers.current.value));
  const items = await batchGet(ids.map((id) => ({ PK: `CARD#${id}`, SK: 'CARD' })));
  return ids.map((id) => items.get(`CARD#${id}|CARD`));
}

let big: { orderId: string; rows: PrinterRow[] };
let pinned: { orderId: string; rows: PrinterRow[] };

beforeAll(async () => {
  captureLog();
  // No stream consumers: 20,000 new items would keep them busy for the whole file.
  stack = await startTestStack({ consumers: [] });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  ops = demo.staffTokens.ops;
  apiKey = demo.apiKey;
  programId = demo.programId;
  printerKeys = await printerKeyPair();
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.stop();
});

describe('physical card production', () => {
  it('registers a printer by its public key and refuses a private key', async () => {
    const refused = await request('POST', '/v1/production/printers', {
      token: admin,
      body: { name: 'Wrong key', publicKey: printerKeys.privateKey },
    });
    expect(refused.status).toBe(400);
    expect(
      refused.body.errors?.[0]?.field ?? refused.body.fieldErrors?.[0]?.field ?? JSON.stringify(refused.body),
    ).toContain('publicKey');
    expect(JSON.stringify(refused.body)).not.toContain('PRIVATE KEY');
    const printer = await request('POST', '/v1/production/printers', {
      token: admin,
      body: { name: 'Card printer A', publicKey: printerKeys.publicKey },
    });
    expect(printer.status, JSON.stringify(printer.body)).toBe(201);
    const key = await openpgp.readKey({ armoredKey: printerKeys.publicKey });
    expect(printer.body.fingerprint).toBe(key.getFingerprint());
    printerId = printer.body.id;
  });

  it('generates 10,000 PENDING cards and a printer file that names each exactly once', async () => {
    const placed = await request('POST', '/v1/production/orders', {
      token: ops,
      body: {
        programId,
        count: BIG_ORDER,
        withPin: false,
        artworkRef: 'ART-2026-WINTER',
        printerId,
        layout: 'CSV',
        cartonCards: CARTON,
        magstripe: { serviceCode: '721' },
      },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(202);
    const done = await waitForOrder(ops, placed.body.id, 540_000);
    expect(done.generation, done.error).toBe('DONE');
    expect(done.progress).toMatchObject({ cards: BIG_ORDER, cardsDone: BIG_ORDER });
    const { rows, header } = await decryptOrderFile(ops, placed.body.id, printerKeys);
    expect(header[0]).toBe('sequence');
    expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: BIG_ORDER }, (_, i) => i + 1));
    expect(new Set(rows.map((row) => row.code)).size).toBe(BIG_ORDER);
    for (const row of rows) {
      expect(decodedCodes(row, {})).toEqual([row.code, row.code, row.code, row.code]);
      expect(decodeTrack2Bits(row.track2Bits).pan).toBe(row.code);
      expect(row.pin).toBe('');
    }
    const cards = await cardsOf(rows.map((row) => row.code));
    expect(cards.every((card) => card?.status === 'PENDING' && card.programId === programId)).toBe(true);
    expect(cards.every((card) => card?.type === 'PHYSICAL' && card.balance === 0)).toBe(true);
    // Through the API too: a till's lookup of a printed code finds the PENDING card.
    const looked = await request('POST', '/v1/cards/lookup', {
      token: apiKey,
      body: { code: rows[0]?.code },
    });
    expect(looked.body).toMatchObject({ status: 'PENDING', programId, type: 'PHYSICAL' });
    big = { orderId: placed.body.id, rows };
  }, 600_000);

  it('gives every card of a PIN order a PIN that verifies', async () => {
    const pinProgram = await request('POST', '/v1/programs', {
      token: admin,
      body: { name: 'PIN cards', currency: 'USD', pinPolicy: 'ALWAYS', minLoad: 500, maxLoad: 50_000 },
    });
    expect(pinProgram.status, JSON.stringify(pinProgram.body)).toBe(201);
    const placed = await request('POST', '/v1/production/orders', {
      token: ops,
      body: {
        programId: pinProgram.body.id,
        count: PIN_ORDER,
        denomination: 2_500,
        artworkRef: 'ART-PIN',
        printerId,
        layout: 'CSV',
        cartonCards: 25,
      },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(202);
    expect(placed.body.withPin).toBe(true);
    const done = await waitForOrder(ops, placed.body.id, 120_000);
    expect(done.generation, done.error).toBe('DONE');
    const { rows } = await decryptOrderFile(ops, placed.body.id, printerKeys);
    expect(rows).toHaveLength(PIN_ORDER);
    const cards = await cardsOf(rows.map((row) => row.code));
    for (const [index, row] of rows.entries()) {
      expect(row.pin).toMatch(/^\d{4}$/);
      const card = cards[index];
      expect(card?.status).toBe('PENDING');
      const record = await findPin(String(card?.id));
      expect(record && pinMatches(row.pin, record)).toBe(true);
    }
    const first = cards[0];
    const verified = await request('POST', `/v1/cards/${first?.id}/pin/verify`, {
      token: stack.demo?.staffTokens.support ?? '',
      body: { pin: rows[0]?.pin },
    });
    expect(verified.status).toBe(204);
    pinned = { orderId: placed.body.id, rows };
  }, 150_000);

  it('activates a card at the till and a timeout reversal by key makes it PENDING again', async () => {
    const code = big.rows[0]?.code;
    const key = randomUUID();
    const sold = await request('POST', '/v1/cards/activate', {
      token: apiKey,
      idempotencyKey: key,
      body: { code, amount: 2_000, channel: 'POS', locationId: 'store-1', terminalId: 'till-3' },
    });
    expect(sold.status, JSON.stringify(sold.body)).toBe(200);
    expect(sold.body.card).toMatchObject({ status: 'ACTIVE', balance: 2_000 });
    expect(sold.body.transaction).toMatchObject({ type: 'ACTIVATE', amount: 2_000 });
    const reversed = await request('POST', '/v1/reversals', {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { idempotencyKey: key },
    });
    expect(reversed.status, JSON.stringify(reversed.body)).toBe(200);
    expect(reversed.body.status).toBe('REVERSED');
    const card = await request('GET', `/v1/cards/${sold.body.card.id}`, { token: apiKey });
    expect(card.body).toMatchObject({ status: 'PENDING', balance: 0, available: 0 });
    // Open value needs the amount paid; an unknown code answers like any unknown card.
    const noAmount = await request('POST', '/v1/cards/activate', {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { code: big.rows[1]?.code },
    });
    expect(noAmount.status).toBe(400);
    const unknown = await request('POST', '/v1/cards/activate', {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { code: '6000000000000000', amount: 1_000 },
    });
    expect(unknown.status).toBe(404);
  });

  it('ships cartons to a store, deactivates a lost one, and counts the store inventory', async () => {
    await request('POST', `/v1/production/orders/${big.orderId}/printed`, { token: ops });
    const shipment = await request('POST', '/v1/production/shipments', {
      token: ops,
      body: { orderId: big.orderId, storeId: 'store-1', cartons: [1, 2] },
    });
    expect(shipment.status, JSON.stringify(shipment.body)).toBe(201);
    const received = await request('POST', `/v1/production/shipments/${shipment.body.id}/receive`, {
      token: ops,
    });
    expect(received.body.status).toBe('RECEIVED');
    // A card of carton 1 sold; carton 2 goes missing.
    const sold = await request('POST', '/v1/cards/activate', {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { code: big.rows[5]?.code, amount: 1_500 },
    });
    expect(sold.status).toBe(200);
    const lost = await request('POST', `/v1/production/orders/${big.orderId}/cartons/2/deactivate`, {
      token: ops,
      body: { reason: 'carton missing from the delivery' },
    });
    expect(lost.status, JSON.stringify(lost.body)).toBe(200);
    expect(lost.body).toMatchObject({ deactivated: CARTON, carton: { status: 'LOST' } });
    const lostCard = big.rows[CARTON + 10]?.code;
    const refused = await request('POST', '/v1/cards/activate', {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { code: lostCard, amount: 1_000 },
    });
    expect(refused.status).toBe(409);
    const inventory = await request('GET', '/v1/production/stores/store-1/inventory', { token: ops });
    expect(inventory.body).toEqual({
      storeId: 'store-1',
      cartons: { shipped: 0, received: 1, lost: 1 },
      cards: { received: CARTON, activated: 1, pending: CARTON - 1, deactivated: 0 },
    });
    const audit = await request('GET', '/v1/audit?limit=200', { token: admin });
    expect(audit.status, JSON.stringify(audit.body)).toBe(200);
    const actions = (audit.body.items as { action: string }[]).map((item) => item.action);
    expect(actions).toEqual(
      expect.arrayContaining(['productionOrder.download', 'productionOrder.carton-lost']),
    );
  });

  it('writes no code and no PIN to the log or to any file', () => {
    const codes = new Set([...big.rows, ...pinned.rows].map((row) => row.code));
    const pins = new Set(pinned.rows.map((row) => row.pin));
    const text = logText.join('\n');
    expect(text.length).toBeGreaterThan(0);
    const codeLike = text.match(/[0-9A-Z]{12,}/g) ?? [];
    expect(codeLike.filter((token) => codes.has(token))).toEqual([]);
    const pinLike = text.match(/(?<![\d.:-])\d{4}(?![\d.:-])/g) ?? [];
    expect(pinLike.filter((token) => pins.has(token) && text.includes(`"pin":"${token}"`))).toEqual([]);
    for (const file of filesUnder(stack.dataDir)) {
      const content = readFileSync(file).toString('latin1');
      const tokens = content.match(/[0-9A-Z]{12,}/g) ?? [];
      expect(
        tokens.filter((token) => codes.has(token)),
        file,
      ).toEqual([]);
    }
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
