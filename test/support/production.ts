import * as openpgp from 'openpgp';
import { expect } from 'vitest';
import { readCsv } from '../../functions/core/csv-read';
import type { PrinterRow } from '../../functions/core/production/printer-row';
import { request } from './http';

/**
 * Production helpers of the e2e tests (docs/production.md): a printer's OpenPGP key pair, its
 * registration, an order placed and waited for, and its printer file fetched through the audited links
 * and decrypted with the printer's private key. The rows (codes, PINs) live in the test's memory only.
 */
export interface PrinterKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

export const printerKeyPair = (): Promise<PrinterKeys> =>
  openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Test card printer', email: 'printer@example.com' }],
    format: 'armored',
  });

export async function registerPrinter(
  admin: string,
  keys: PrinterKeys,
  name = 'Card printer',
): Promise<string> {
  const printer = await request('POST', '/v1/production/printers', {
    token: admin,
    body: { name, publicKey: keys.publicKey },
  });
  expect(printer.status, JSON.stringify(printer.body)).toBe(201);
  return printer.body.id as string;
}

/** An order as GET /v1/production/orders/{id} answers it, the fields the tests read. */
export interface OrderAnswer {
  readonly id: string;
  readonly generation: 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED';
  readonly error?: string;
  readonly progress: { readonly cards: number; readonly cardsDone: number };
  readonly cartons: number;
}

export async function waitForOrder(token: string, orderId: string, timeoutMs: number): Promise<OrderAnswer> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answer = await request<OrderAnswer>('GET', `/v1/production/orders/${orderId}`, { token });
    expect(answer.status).toBe(200);
    if (answer.body.generation === 'DONE' || answer.body.generation === 'FAILED') return answer.body;
    if (Date.now() > until) throw new Error(`order ${orderId} still ${answer.body.generation}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Places an order and waits until it is generated; the order as GET answers it. */
export async function placeOrder(
  token: string,
  body: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<OrderAnswer> {
  const placed = await request('POST', '/v1/production/orders', { token, body });
  expect(placed.status, JSON.stringify(placed.body)).toBe(202);
  const done = await waitForOrder(token, placed.body.id, timeoutMs);
  expect(done.generation, done.error).toBe('DONE');
  return done;
}

export interface Decrypted {
  readonly rows: PrinterRow[];
  readonly header: string[];
}

/** Decrypts one printer file part (an OpenPGP message) with the printer's private key. */
export async function decryptPart(bytes: Uint8Array, keys: PrinterKeys): Promise<Decrypted> {
  const privateKey = await openpgp.readPrivateKey({ armoredKey: keys.privateKey });
  const message = await openpgp.readMessage({ binaryMessage: bytes });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
  const text = new TextDecoder().decode(data);
  const header = (text.split('\r\n')[0] ?? '').split(',');
  const rows = readCsv(text).map((record) => ({
    sequence: Number(record.sequence),
    code: record.code ?? '',
    pin: record.pin ?? '',
    code128: record.code128 ?? '',
    qr: record.qr ?? '',
    track2: record.track2 ?? '',
    track2Lrc: record.track2_lrc ?? '',
    track2Bits: record.track2_bits ?? '',
  }));
  return { rows, header };
}

/** Fetches the order's parts through its links (an audited download) and decrypts them. */
export async function decryptOrderFile(
  token: string,
  orderId: string,
  keys: PrinterKeys,
): Promise<Decrypted> {
  const links = await request('POST', `/v1/production/orders/${orderId}/downloads`, { token });
  expect(links.status).toBe(200);
  const rows: PrinterRow[] = [];
  let header: string[] = [];
  for (const file of links.body.files as { url: string; rows: number }[]) {
    const response = await fetch(file.url);
    expect(response.status).toBe(200);
    const part = await decryptPart(new Uint8Array(await response.arrayBuffer()), keys);
    expect(part.rows).toHaveLength(file.rows);
    rows.push(...part.rows);
    header = part.header;
  }
  return { rows, header };
}
