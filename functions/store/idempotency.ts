import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config';
import { DomainError } from '../core/errors';
import { db, tableName } from './dynamo-client';
import { idempotencyKey } from './keys';
import { sealingPepper } from './secrets';

/**
 * Idempotency-Key handling. The record is written in the SAME transaction as the change it protects
 * (card, ledger entry, program...), so a key can never commit twice and a crash cannot leave a change
 * without its record. A retry that loses the race finds the record and gets the first result back.
 * Stored results are encrypted (AES-256-GCM, key derived from the sealing pepper, which a pepper rotation
 * leaves alone): an issued card's code lives in a replayable response for 24 h and must not sit in the
 * table in clear. The result is deflated before it is sealed and stored as binary: a redemption's
 * record then fits in 1 KB, which is what it costs to write (2 WRU inside the transaction, not 4). Only
 * whoever can read the table sees a record's size, so compressing before encrypting leaks nothing to a
 * caller.
 */
export interface IdempotencyClaim {
  /** Whose key it is: the merchant or staff user; keys of different principals never collide. */
  readonly scope: string;
  readonly key: string;
  /** SHA-256 of the route and the validated input. */
  readonly requestHash: string;
  /**
   * This request's own attempt under the key (random per request): a request answered 503 TIMED_OUT
   * fences its key with it (`abandonKey`), so its own late write can never commit while a retry can.
   */
  readonly attempt?: string;
  /** Set by the store when the result came from an earlier request with this key. */
  replayed?: boolean;
}

interface IdempotencyRecord {
  readonly requestHash: string;
  /** On a fence (`ABANDONED`): the request it fenced and that request's attempt. */
  readonly abandonedHash?: string;
  readonly attempt?: string;
  /** Sealed: binary (deflated, version byte first) or, in records written before, base64 text. */
  readonly result: Uint8Array | string;
  readonly expiresAt: number;
}

/** The request hash of a key spent by a timeout reversal before any request committed under it. */
const SPENT = 'SPENT';
/** The request hash of a fence: the request under the key was answered 503 before it committed. */
const ABANDONED = 'ABANDONED';

export type KeyState<T> =
  | { readonly kind: 'unused' }
  | { readonly kind: 'spent' }
  | { readonly kind: 'used'; readonly result: T };

/** What became of a key: nothing yet, cancelled by a timeout reversal, or the result it committed. */
export async function keyState<T>(
  claim: Omit<IdempotencyClaim, 'requestHash'>,
  now: Date,
): Promise<KeyState<T>> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: claimKey(claim), ConsistentRead: true }),
  );
  const record = out.Item as IdempotencyRecord | undefined;
  if (!record || record.expiresAt < Math.floor(now.getTime() / 1000)) return { kind: 'unused' };
  // A fence means nothing committed (yet): a retry of that request may still, so it is as unused.
  if (record.requestHash === ABANDONED) return { kind: 'unused' };
  if (record.requestHash === SPENT) return { kind: 'spent' };
  return { kind: 'used', result: (await open(record.result, claimKey(claim).PK)) as T };
}

/**
 * Marks an unused key as spent, so a request still on its way can never commit under it. False when
 * a request committed under the key first.
 */
export async function spendKey(claim: Omit<IdempotencyClaim, 'requestHash'>, now: Date): Promise<boolean> {
  const put = await idempotencyPut({ ...claim, requestHash: SPENT }, { spent: true }, now);
  try {
    await db().send(new PutCommand(put.Put));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export const hashIdempotencyKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export function claimKey(claim: Pick<IdempotencyClaim, 'scope' | 'key'>) {
  return idempotencyKey(claim.scope, hashIdempotencyKey(claim.key));
}

let cipherKey: { pepper: string; key: Buffer } | undefined;
async function resultKey(): Promise<Buffer> {
  const pepper = await sealingPepper();
  if (cipherKey?.pepper !== pepper) {
    cipherKey = {
      pepper,
      key: Buffer.from(hkdfSync('sha256', pepper, 'giftcard', 'idempotency-result-v1', 32)),
    };
  }
  return cipherKey.key;
}

/** Format of binary sealed results: version byte, IV (12), GCM tag (16), ciphertext of the deflated JSON. */
const SEALED_DEFLATED_V1 = 1;

async function seal(value: unknown, aad: string): Promise<Uint8Array> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await resultKey(), iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(deflateRawSync(JSON.stringify(value))), cipher.final()]);
  return Buffer.concat([Buffer.of(SEALED_DEFLATED_V1), iv, cipher.getAuthTag(), body]);
}

async function open(sealed: Uint8Array | string, aad: string): Promise<unknown> {
  // Text: base64 of IV, tag and the ciphertext of plain JSON (records written before binary ones).
  const text = typeof sealed === 'string';
  const raw = text ? Buffer.from(sealed, 'base64') : Buffer.from(sealed);
  if (!text && raw[0] !== SEALED_DEFLATED_V1) throw new Error('Unknown sealed result format');
  const start = text ? 0 : 1;
  const decipher = createDecipheriv('aes-256-gcm', await resultKey(), raw.subarray(start, start + 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(start + 12, start + 28));
  const plain = Buffer.concat([decipher.update(raw.subarray(start + 28)), decipher.final()]);
  return JSON.parse((text ? plain : inflateRawSync(plain)).toString('utf8'));
}

/** The Put that records the key with its result; fails its condition when the key is already spent. */
export async function idempotencyPut(claim: Omit<IdempotencyClaim, 'replayed'>, result: unknown, now: Date) {
  const key = claimKey(claim);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const expiresAt = nowSeconds + config().IDEMPOTENCY_TTL_SECONDS;
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...key,
        requestHash: claim.requestHash,
        result: await seal(result, key.PK),
        createdAt: now.toISOString(),
        expiresAt,
        // TTL deletion lags; the condition below treats an expired record as absent.
        ttl: expiresAt + 3600,
      },
      // Guarantees: one committed change per key while the record lives. A fence (a 503 answered before
      // the request committed) gives way to a retry of the same request and to a timeout reversal, never
      // to the fenced attempt itself: nothing commits after its answer was given.
      ConditionExpression:
        claim.requestHash === SPENT
          ? 'attribute_not_exists(PK) OR expiresAt < :now OR requestHash = :abandoned'
          : 'attribute_not_exists(PK) OR expiresAt < :now OR (requestHash = :abandoned AND attempt <> :attempt AND abandonedHash = :requestHash)',
      ExpressionAttributeValues: {
        ':now': nowSeconds,
        ':abandoned': ABANDONED,
        ...(claim.requestHash === SPENT
          ? {}
          : { ':attempt': claim.attempt ?? '-', ':requestHash': claim.requestHash }),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    },
  };
}

/** An existing record: the first result for the same request, 422 for a different one. */
export async function replay<T>(
  claim: IdempotencyClaim,
  item: Record<string, unknown>,
  now: Date,
): Promise<T | undefined> {
  const record = item as unknown as IdempotencyRecord;
  if (typeof record.expiresAt === 'number' && record.expiresAt < Math.floor(now.getTime() / 1000))
    return undefined;
  if (record.requestHash === ABANDONED) {
    if (record.abandonedHash !== claim.requestHash) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used with a different request; use a new key for a new request.',
      );
    }
    // The fenced attempt itself, arriving late: its answer (503) was given; it must not commit.
    throw new DomainError(
      'CONFLICT',
      'This request was answered TIMED_OUT; send it again with the same key.',
    );
  }
  if (record.requestHash === SPENT) {
    throw new DomainError(
      'CONFLICT',
      'A timeout reversal cancelled this request before it completed; send it again with a new Idempotency-Key.',
    );
  }
  if (record.requestHash !== claim.requestHash) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request; use a new key for a new request.',
    );
  }
  claim.replayed = true;
  return (await open(record.result, claimKey(claim).PK)) as T;
}

/** Reads the record for a key (after a refusal, to tell a retry of a committed request from a new one). */
export async function findReplay<T>(claim: IdempotencyClaim, now: Date): Promise<T | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: claimKey(claim), ConsistentRead: true }),
  );
  if (!out.Item || out.Item.requestHash === ABANDONED) return undefined;
  return replay<T>(claim, out.Item, now);
}

/**
 * Fences a key whose request is being answered 503 TIMED_OUT before it committed: its own write, still
 * on its way, then fails its condition, while a retry of the same request (another attempt) or a timeout
 * reversal may go ahead. 'committed' when the request committed first (its retry gets the replay).
 */
export async function abandonKey(claim: IdempotencyClaim, now: Date): Promise<'fenced' | 'committed'> {
  const key = claimKey(claim);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const expiresAt = nowSeconds + config().IDEMPOTENCY_TTL_SECONDS;
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...key,
          requestHash: ABANDONED,
          abandonedHash: claim.requestHash,
          attempt: claim.attempt ?? '-',
          createdAt: now.toISOString(),
          expiresAt,
          ttl: expiresAt + 3600,
        },
        // Guarantees: a fence never hides a committed result.
        ConditionExpression: 'attribute_not_exists(PK) OR expiresAt < :now OR requestHash = :abandoned',
        ExpressionAttributeValues: { ':now': nowSeconds, ':abandoned': ABANDONED },
      }),
    );
    return 'fenced';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'committed';
    throw error;
  }
}

export function resetIdempotencyForTests(): void {
  cipherKey = undefined;
}
