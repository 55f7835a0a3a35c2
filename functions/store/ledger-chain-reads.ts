import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Card } from '../core/card-model';
import type { LedgerEntry } from '../core/ledger';
import { toCard, toEntry } from './card-items';
import { db, tableName } from './dynamo-client';
import { cardKey, programCardsIndexPk } from './keys';
import { exportBucket, s3 } from './s3-client';

/** What the ledger verifier reads (functions/app/ledger-verify.ts): raw items, keys kept. */

/** A card's ledger entries with the number their key gives them. */
export interface KeyedEntry {
  readonly entry: LedgerEntry;
  readonly keySeq: number;
}

/** Pages of a card partition the verifier reads: 1,000 items each, at most 10,000 pages (10 M entries). */
const PAGE_ITEMS = 1_000;
const MAX_PAGES = 10_000;

/** The card item and its entries in key order, strongly consistent. */
export async function cardLedger(cardId: string): Promise<{ card?: Card; entries: KeyedEntry[] }> {
  const entries: KeyedEntry[] = [];
  let card: Card | undefined;
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': cardKey(cardId).PK },
        ConsistentRead: true,
        Limit: PAGE_ITEMS,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const sk = String(item.SK);
      if (sk === 'CARD') card = toCard(item);
      else if (sk.startsWith('TX#')) entries.push({ entry: toEntry(item), keySeq: Number(sk.slice(3)) });
    }
    start = out.LastEvaluatedKey;
    if (!start) return { ...(card ? { card } : {}), entries };
  }
  throw new Error(`Card ${cardId} has more entries than the verifier reads (${PAGE_ITEMS * MAX_PAGES})`);
}

/** A page of a program's card ids (the keys-only program index). */
export async function programCardIds(
  programId: string,
  start: Record<string, unknown> | undefined,
): Promise<{ cardIds: string[]; next: Record<string, unknown> | undefined }> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': programCardsIndexPk(programId) },
      Limit: PAGE_ITEMS,
      ExclusiveStartKey: start,
    }),
  );
  return {
    cardIds: (out.Items ?? []).map((item) => String(item.PK).slice('CARD#'.length)),
    next: out.LastEvaluatedKey,
  };
}

/** An export object's bytes as stored (the manifest, a gzip part). */
export async function exportObject(key: string): Promise<Buffer> {
  const out = await s3().send(new GetObjectCommand({ Bucket: exportBucket(), Key: key }));
  if (!out.Body) throw new Error(`Export object ${key} is empty`);
  return Buffer.from(await out.Body.transformToByteArray());
}

/**
 * An export object's bytes in ranges of 8 MiB, each GET read to its end before the next is asked for:
 * a slow reader (the verifier checks a card in the table per row) never leaves an S3 response open for
 * hours, and holds at most one range.
 */
const RANGE_BYTES = 8 * 1024 * 1024;
const MAX_RANGES = 1_000_000;

async function* exportObjectRanges(key: string, rangeBytes: number): AsyncGenerator<Buffer> {
  for (let index = 0, size = Number.POSITIVE_INFINITY; index < MAX_RANGES; index++) {
    const start = index * rangeBytes;
    if (start >= size) return;
    const out = await s3()
      .send(
        new GetObjectCommand({
          Bucket: exportBucket(),
          Key: key,
          Range: `bytes=${start}-${start + rangeBytes - 1}`,
        }),
      )
      .catch((error: { $metadata?: { httpStatusCode?: number } }) => {
        // An empty object has no byte 0: S3 answers 416.
        if (start === 0 && error.$metadata?.httpStatusCode === 416) return undefined;
        throw error;
      });
    if (!out) return;
    // "bytes 0-8388607/123456789": the object's size; absent when the object is empty (no range served).
    size = Number(/\/(\d+)$/.exec(out.ContentRange ?? '')?.[1] ?? 0);
    const bytes = out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
    if (bytes.length === 0) return;
    yield bytes;
  }
  throw new Error(`Export object ${key} is larger than the verifier reads`);
}

/** The SHA-256 (hex) of an export object's bytes as stored, read range by range. */
export async function exportObjectSha256(key: string, rangeBytes = RANGE_BYTES): Promise<string> {
  const hash = createHash('sha256');
  for await (const bytes of exportObjectRanges(key, rangeBytes)) hash.update(bytes);
  return hash.digest('hex');
}

/**
 * A gzip export part's text in chunks as it is read and unzipped (UTF-8 decoded across chunk ends):
 * a balances file of millions of rows goes past 8 MiB of gzip and ~64 KB of text at a time.
 */
export async function* exportGzipText(key: string, rangeBytes = RANGE_BYTES): AsyncGenerator<string> {
  const gunzip = createGunzip();
  // pipeline, not pipe: a failed GET reaches the reader as an error instead of a stream that never ends.
  pipeline(Readable.from(exportObjectRanges(key, rangeBytes)), gunzip, () => undefined);
  const text = gunzip.setEncoding('utf8');
  for await (const chunk of text) yield chunk as string;
}
