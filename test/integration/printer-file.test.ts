import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfigForTests } from '../../functions/config';
import { type CodeFormat, generateCode, randomDigits } from '../../functions/core/card-code';
import { readCsv } from '../../functions/core/csv-read';
import { PrinterDataError } from '../../functions/core/production/printer-data-error';
import { type PrinterLayout, parseFixedWidthRecord } from '../../functions/core/production/printer-layouts';
import {
  buildPrinterRow,
  decodedCodes,
  type PrinterCard,
  type PrinterRow,
  type PrinterRowOptions,
} from '../../functions/core/production/printer-row';
import { decodeTrack2Bits } from '../../functions/core/production/track2';
import { logger } from '../../functions/logger';
import { encryptedPrinterStream, readPrinterKey, writePrinterFile } from '../../functions/store/printer-file';
import { resetS3ForTests, s3 } from '../../functions/store/s3-client';
import { type S3Local, startS3Local } from '../../local/s3';
import { testEnv } from '../support/table';

/**
 * functions/store/printer-file.ts against s3rver: an order of 2,000 cards is laid out, encrypted to a
 * printer key made here (curve25519), uploaded; the test downloads it, decrypts it with the printer's
 * private key and decodes every barcode, QR payload and track 2 (parity and LRC checked) back to the
 * card's code. Nothing written to the log or the console holds a code or a PIN.
 */
const BUCKET = 'printer-files-test';
const KMS_KEY_ID = 'alias/printer-files';
const CARDS = 2_000;
const NUMERIC: CodeFormat = { alphabet: 'NUMERIC_LUHN', length: 18, prefix: '6' };
const LETTERS: CodeFormat = { alphabet: 'UNAMBIGUOUS', length: 16, prefix: 'G' };
const QR_TEMPLATE = 'https://gift.example.com/balance?code={code}';

let s3Local: S3Local;
let dir: string;
let printerKey: { publicKey: string; privateKey: string };
/** Every code and PIN this file hands to the printer file, to look for in the log. */
const secrets = new Set<string>();
/** What the logger was asked to write, and what reached stdout and stderr (the JSON lines). */
const loggerCalls: string[] = [];
/** Headers of the requests that stored objects (PutObject, CreateMultipartUpload), by object key. */
const storeRequests: Record<string, string>[] = [];
const consoleWrites: string[] = [];

const asText = (parts: readonly unknown[]): string =>
  parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');

function captureLog(): void {
  // Every line is written, whatever level the run's logger has (ERROR under vitest.config.ts): the
  // more that reaches stdout, the more there is to find a code in.
  logger.setLogLevel('DEBUG');
  for (const level of ['debug', 'info', 'warn', 'error', 'critical'] as const) {
    const original = logger[level].bind(logger) as (...args: unknown[]) => void;
    vi.spyOn(logger, level).mockImplementation(((...args: unknown[]) => {
      loggerCalls.push(asText(args));
      original(...args);
    }) as typeof logger.info);
  }
  // Kept, not printed: the test output stays quiet.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown) => {
      consoleWrites.push(String(chunk));
      return true;
    }) as typeof stream.write);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'printer-file-'));
  s3Local = await startS3Local({ port: 0, directory: join(dir, 's3'), bucket: BUCKET });
  await testEnv({ logLevel: 'INFO' });
  process.env.S3_ENDPOINT = s3Local.endpoint;
  resetConfigForTests();
  resetS3ForTests();
  printerKey = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Test card printer', email: 'printer@example.com' }],
    format: 'armored',
  });
  captureLog();
  s3().middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method?: string; path?: string; headers?: Record<string, string> };
      if (request.method === 'PUT' || request.method === 'POST') {
        storeRequests.push({
          key: decodeURIComponent(request.path ?? '').replace(`/${BUCKET}/`, ''),
          ...request.headers,
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordStoreRequests' },
  );
});

afterAll(async () => {
  vi.restoreAllMocks();
  delete process.env.S3_ENDPOINT;
  resetConfigForTests();
  resetS3ForTests();
  await s3Local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function makeCards(count: number, format: CodeFormat, withPins: boolean): PrinterCard[] {
  return Array.from({ length: count }, (_, index) => {
    const code = generateCode(format);
    const pin = withPins ? randomDigits(8) : undefined;
    secrets.add(code);
    if (pin) secrets.add(pin);
    return { sequence: index + 1, code, ...(pin ? { pin } : {}), expiresOn: '2031-06-30' };
  });
}

/** Rows as an order's card source yields them: one at a time. */
async function* rowsOf(
  cards: readonly PrinterCard[],
  options: PrinterRowOptions,
): AsyncGenerator<PrinterRow> {
  for (const card of cards) yield buildPrinterRow(card, options);
}

async function download(key: string): Promise<Uint8Array> {
  const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  if (!object.Body) throw new Error('empty object');
  return object.Body.transformToByteArray();
}

async function decryptAsPrinter(encrypted: Uint8Array): Promise<string> {
  const privateKey = await openpgp.readPrivateKey({ armoredKey: printerKey.privateKey });
  const message = await openpgp.readMessage({ binaryMessage: encrypted });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
  return new TextDecoder().decode(data);
}

async function writeOrder(key: string, layout: PrinterLayout, rows: AsyncIterable<PrinterRow>) {
  return writePrinterFile(rows, {
    layout,
    printerPublicKeyArmored: printerKey.publicKey,
    target: { bucket: BUCKET, key, kmsKeyId: KMS_KEY_ID },
  });
}

function expectCardsDecode(
  records: Record<string, string>[],
  cards: readonly PrinterCard[],
  options: PrinterRowOptions,
) {
  expect(records).toHaveLength(cards.length);
  records.forEach((record, index) => {
    const card = cards[index] as PrinterCard;
    const row: PrinterRow = {
      sequence: Number(record.sequence),
      code: record.code ?? '',
      pin: record.pin ?? '',
      code128: record.code128 ?? '',
      qr: record.qr ?? '',
      track2: record.track2 ?? '',
      track2Lrc: record.track2_lrc ?? '',
      track2Bits: record.track2_bits ?? '',
    };
    expect(row).toMatchObject({ sequence: card.sequence, code: card.code, pin: card.pin ?? '' });
    const expected = options.magstripe ? 4 : 2;
    expect(decodedCodes(row, options)).toEqual(Array.from({ length: expected }, () => card.code));
    if (options.magstripe) expect(decodeTrack2Bits(row.track2Bits).expiryYymm).toBe('3106');
  });
}

describe('printer file', () => {
  it('writes 2,000 cards as an encrypted CSV that the printer decrypts and decodes back to every code', async () => {
    const cards = makeCards(CARDS, NUMERIC, true);
    const options = { magstripe: { serviceCode: '721' }, qrUrlTemplate: QR_TEMPLATE };
    const written = await writeOrder('orders/o-1/cards.csv.pgp', 'CSV', rowsOf(cards, options));

    const stored = await download(written.key);
    expect(written).toMatchObject({ rows: CARDS, bytes: stored.length });
    expect(written.recipientFingerprint).toBe(
      (await openpgp.readKey({ armoredKey: printerKey.publicKey })).getFingerprint(),
    );
    // Ciphertext only: no code of the order is readable in the stored bytes.
    const storedText = Buffer.from(stored).toString('latin1');
    expect(cards.slice(0, 50).some((card) => storedText.includes(card.code))).toBe(false);
    const head = await s3().send(new HeadObjectCommand({ Bucket: BUCKET, Key: written.key }));
    expect(head.ContentType).toBe('application/pgp-encrypted');
    // s3rver keeps no SSE setting; the request that stored the object asked for SSE-KMS under the order's key.
    expect(storeRequests).toContainEqual(
      expect.objectContaining({
        key: written.key,
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ID,
      }),
    );

    expectCardsDecode(readCsv(await decryptAsPrinter(stored)), cards, options);
  });

  it('writes the fixed-width layout: every record at its width, every track 2 and barcode decoding to its code', async () => {
    const cards = makeCards(CARDS, NUMERIC, false);
    const options = { magstripe: { serviceCode: '721', discretionaryData: '000' } };
    const written = await writeOrder('orders/o-2/cards.txt.pgp', 'FIXED_WIDTH', rowsOf(cards, options));
    const text = await decryptAsPrinter(await download(written.key));
    const lines = text.split('\r\n');
    expect(lines.pop()).toBe('');
    expectCardsDecode(lines.map(parseFixedWidthRecord), cards, options);
  });

  it('prints alphanumeric codes without a stripe, barcode and QR still decoding to the code', async () => {
    const cards = makeCards(200, LETTERS, false);
    const written = await writeOrder('orders/o-3/cards.csv.pgp', 'CSV', rowsOf(cards, {}));
    expectCardsDecode(readCsv(await decryptAsPrinter(await download(written.key))), cards, {});
  });

  it('stores nothing when a card cannot be laid out, and says which card without its code', async () => {
    const cards = makeCards(1_500, NUMERIC, false);
    async function* withBadRow(): AsyncGenerator<PrinterRow> {
      for await (const row of rowsOf(cards, {})) {
        yield row.sequence === 1_200
          ? { ...row, qr: `https://gift.example.com/${'x'.repeat(200)}/${row.code}` }
          : row;
      }
    }
    const key = 'orders/o-4/cards.txt.pgp';
    const failure = await writeOrder(key, 'FIXED_WIDTH', withBadRow()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PrinterDataError);
    expect(String(failure)).toMatch(/Card 1200: column qr/);
    expect(String(failure)).not.toContain((cards[1_199] as PrinterCard).code);
    await expect(s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toBeInstanceOf(
      NoSuchKey,
    );
  });

  it('lays rows out only as the encrypted stream is read, so memory does not grow with the order', async () => {
    const template = buildPrinterRow(
      { sequence: 1, code: generateCode(NUMERIC) },
      { magstripe: { serviceCode: '721' } },
    );
    secrets.add(template.code);
    const order = 1_000_000;
    async function* millionRows(): AsyncGenerator<PrinterRow> {
      for (let sequence = 1; sequence <= order; sequence += 1) yield { ...template, sequence };
    }
    const key = await readPrinterKey(printerKey.publicKey);
    const { stream, counted } = await encryptedPrinterStream(millionRows(), 'FIXED_WIDTH', key);
    let read = 0;
    for await (const chunk of stream) {
      read += (chunk as Buffer).length;
      if (read >= 1024 * 1024) break;
    }
    // 1 MiB of ciphertext is about 1,650 records of 636 bytes; the writer may be a few chunks ahead.
    expect(counted.rows).toBeGreaterThan(1_000);
    expect(counted.rows).toBeLessThan(20_000);
  });

  it('refuses a private key as the printer key', async () => {
    const rows = rowsOf(makeCards(1, NUMERIC, false), {});
    await expect(
      writePrinterFile(rows, {
        layout: 'CSV',
        printerPublicKeyArmored: printerKey.privateKey,
        target: { bucket: BUCKET, key: 'orders/o-5/cards.csv.pgp', kmsKeyId: KMS_KEY_ID },
      }),
    ).rejects.toThrow(/public key/);
  });

  it('wrote no code or PIN to the log or the console, while the log did record each file', () => {
    expect(loggerCalls.filter((line) => line.includes('printer file written'))).toHaveLength(3);
    expect(consoleWrites.filter((line) => line.includes('"printer file written"'))).toHaveLength(3);
    expect(secrets.size).toBeGreaterThan(7_000);
    const leaks = [...loggerCalls, ...consoleWrites].filter((line) =>
      [...secrets].some((secret) => line.includes(secret)),
    );
    expect(leaks).toEqual([]);
  });
});
