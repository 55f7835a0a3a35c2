import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config';
import type { MerchantScope } from '../core/access';
import { type AuditContext, auditOfChange } from '../core/audit';
import { DomainError, notFound } from '../core/errors';
import { base32, newId } from '../core/ids';
import type { ApiKeyRecord, Merchant } from '../core/merchant';
import { logger } from '../logger';
import { auditInsert } from './audit';
import { readItem } from './batched-reads';
import { TtlCache } from './cache';
import { db, tableName } from './dynamo-client';
import { findReplay, type IdempotencyClaim } from './idempotency';
import { apiKeyKey, merchantApiKeysIndexPk, merchantKey, withoutLayout } from './keys';
import { listByIndex } from './listing';
import { findMerchant } from './merchants';
import type { Page } from './pagination';
import { keyInProgress, writeAtomically } from './transact';

/**
 * Merchant API keys: `gk_<key id>_<52-char secret>`. Only a SHA-256 of the secret is stored (the secret
 * has 256 random bits, so a fast hash is enough); the key is shown once, at creation.
 */
const API_KEY_PATTERN = /^gk_(key_[0-9a-z]{26})_([0-9a-z]{52})$/;
const LAST_USED_RESOLUTION_MS = 60_000;

interface StoredKey extends ApiKeyRecord {
  readonly secretHash: string;
}

export interface CreatedApiKey extends ApiKeyRecord {
  readonly apiKey: string;
}

const cache = new TtlCache<{ key: StoredKey; merchant: Merchant }>(() => config().AUTH_CACHE_SECONDS * 1000);
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

function publicRecord(stored: StoredKey): ApiKeyRecord {
  const { secretHash: _secret, ...record } = stored;
  return record;
}

/** A new key's id, secret and the Put of its record (only the secret's hash is stored). */
function newKey(record: Omit<ApiKeyRecord, 'id' | 'createdAt'>, now: Date) {
  const id = newId('key', now);
  const secret = base32(randomBytes(32)).slice(0, 52);
  const stored: ApiKeyRecord = { ...record, id, createdAt: now.toISOString() };
  const put = {
    Put: {
      TableName: tableName(),
      Item: {
        ...apiKeyKey(id),
        GSI1PK: merchantApiKeysIndexPk(record.merchantId),
        GSI1SK: id,
        ...stored,
        secretHash: hashSecret(secret).toString('hex'),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
  return { record: stored, created: { ...stored, apiKey: `gk_${id}_${secret}` } as CreatedApiKey, put };
}

export async function createApiKey(
  merchantId: string,
  input: { scopes: readonly MerchantScope[]; description?: string },
  claim: IdempotencyClaim | undefined,
  now = new Date(),
  audit?: AuditContext,
): Promise<CreatedApiKey> {
  const { record, created, put } = newKey(
    {
      merchantId,
      scopes: [...new Set(input.scopes)],
      ...(input.description ? { description: input.description } : {}),
    },
    now,
  );
  const outcome = await writeAtomically(
    [
      put,
      {
        ConditionCheck: {
          TableName: tableName(),
          Key: merchantKey(merchantId),
          ConditionExpression: 'attribute_exists(PK)',
        },
      },
      // The record shows the key's id and scopes, never the key.
      ...keyAudit(audit, 'apiKey.create', null, record, now),
    ],
    { claim, result: created, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') throw notFound('The merchant');
  return created;
}

/**
 * Primary course: read the key, then in one transaction write a new key with the same scopes and
 * description and give the old one an end (`expiresAt`, now plus the grace period, so tills can switch
 * over), with the audit record. A key is rotated once; a retry with the same Idempotency-Key gets the
 * same new key back.
 */
export async function rotateApiKey(
  merchantId: string,
  keyId: string,
  input: { gracePeriodSeconds: number },
  claim: IdempotencyClaim | undefined,
  now = new Date(),
  audit?: AuditContext,
): Promise<CreatedApiKey> {
  const earlier = claim ? await findReplay<CreatedApiKey>(claim, now) : undefined;
  if (earlier) return earlier;
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: apiKeyKey(keyId), ConsistentRead: true }),
  );
  const stored = out.Item ? withoutLayout<StoredKey>(out.Item) : undefined;
  if (!stored || stored.merchantId !== merchantId) throw notFound('The API key');
  if (stored.revokedAt || stored.rotatedTo || expired(stored, now)) throw alreadyReplaced();
  const before = publicRecord(stored);
  const { record, created, put } = newKey(
    {
      merchantId,
      scopes: before.scopes,
      ...(before.description ? { description: before.description } : {}),
      rotatedFrom: keyId,
    },
    now,
  );
  const expiresAt = new Date(now.getTime() + input.gracePeriodSeconds * 1000).toISOString();
  const after: ApiKeyRecord = { ...before, expiresAt, rotatedTo: record.id };
  const outcome = await writeAtomically(
    [
      put,
      {
        Update: {
          TableName: tableName(),
          Key: apiKeyKey(keyId),
          UpdateExpression: 'SET expiresAt = :expiresAt, rotatedTo = :next',
          // Guarantees: a key is replaced once, and never after it was revoked.
          ConditionExpression:
            'attribute_exists(PK) AND merchantId = :merchant AND attribute_not_exists(revokedAt) AND attribute_not_exists(rotatedTo)',
          ExpressionAttributeValues: { ':expiresAt': expiresAt, ':next': record.id, ':merchant': merchantId },
        },
      },
      ...keyAudit(audit, 'apiKey.rotate', before, after, now),
    ],
    { claim, result: created, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') throw alreadyReplaced();
  cache.delete(keyId);
  return created;
}

const expired = (key: ApiKeyRecord, now: Date) =>
  key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now.getTime();

const alreadyReplaced = () =>
  new DomainError(
    'CONFLICT',
    'This API key was already rotated or revoked; rotate the key that replaced it.',
  );

export function listApiKeys(merchantId: string, limit: number, cursor?: string): Promise<Page<ApiKeyRecord>> {
  return listByIndex(
    'GSI1',
    merchantApiKeysIndexPk(merchantId),
    { limit, cursor, newestFirst: true },
    (item) => publicRecord(withoutLayout<StoredKey>(item)),
  );
}

const keyAudit = (
  audit: AuditContext | undefined,
  action: string,
  before: ApiKeyRecord | null,
  after: ApiKeyRecord,
  now: Date,
) =>
  audit
    ? [
        auditInsert(
          auditOfChange(audit, {
            action,
            subjectType: 'apiKey',
            subjectId: after.id,
            merchantId: after.merchantId,
            at: now,
            before,
            after,
          }),
        ),
      ]
    : [];

/** Revokes a key (once: a second revoke keeps the first time) together with its audit record. */
export async function revokeApiKey(
  merchantId: string,
  keyId: string,
  now = new Date(),
  audit?: AuditContext,
): Promise<ApiKeyRecord> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: apiKeyKey(keyId), ConsistentRead: true }),
  );
  const stored = out.Item ? withoutLayout<StoredKey>(out.Item) : undefined;
  if (!stored || stored.merchantId !== merchantId) throw notFound('The API key');
  const before = publicRecord(stored);
  const after: ApiKeyRecord = { ...before, revokedAt: before.revokedAt ?? now.toISOString() };
  const outcome = await writeAtomically(
    [
      {
        Update: {
          TableName: tableName(),
          Key: apiKeyKey(keyId),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: 'attribute_exists(PK) AND merchantId = :merchant',
          ExpressionAttributeValues: { ':now': now.toISOString(), ':merchant': merchantId },
        },
      },
      ...keyAudit(audit, 'apiKey.revoke', before, after, now),
    ],
    { claim: undefined, result: after, now },
  );
  if (outcome.kind === 'cancelled') throw notFound('The API key');
  cache.delete(keyId);
  return after;
}

/**
 * The key and merchant behind a presented API key, or undefined for anything not a live key (revoked, or
 * rotated and past its grace period). Warm
 * functions cache the lookup for AUTH_CACHE_SECONDS, which bounds how long a revoked key keeps working
 * on other instances (this instance forgets it at once).
 */
export async function authenticateApiKey(
  presented: string,
  now = new Date(),
  options: { readonly merchantHint?: string } = {},
): Promise<{ key: ApiKeyRecord; merchant: Merchant } | undefined> {
  const match = API_KEY_PATTERN.exec(presented);
  if (!match?.[1] || !match[2]) return undefined;
  const keyId = match[1];
  let entry = cache.get(keyId);
  if (!entry) {
    // The merchant the gateway's authorizer named for this key is read alongside the key (one round trip
    // instead of two on a cold request). It is only a guess of which merchant to read: the key item names
    // the merchant that counts, and any other is read after it.
    const hinted = options.merchantHint
      ? findMerchant(options.merchantHint, { cached: true })
      : Promise.resolve(undefined);
    hinted.catch(() => undefined);
    // Joins a batch of reads the request opened (a pass download's, read alongside authentication).
    const item = await readItem(apiKeyKey(keyId), { consistent: false });
    if (!item) return undefined;
    const key = withoutLayout<StoredKey>(item);
    const merchant =
      key.merchantId === options.merchantHint
        ? await hinted
        : await findMerchant(key.merchantId, { cached: true });
    if (!merchant) return undefined;
    entry = { key, merchant };
    cache.set(keyId, entry);
  }
  const expected = Buffer.from(entry.key.secretHash, 'hex');
  const presentedHash = hashSecret(match[2]);
  if (expected.length !== presentedHash.length || !timingSafeEqual(expected, presentedHash)) return undefined;
  if (entry.key.revokedAt || expired(entry.key, now)) return undefined;
  // Best effort: a failed write of the last use never refuses a valid key. It runs alongside the request
  // (after a quiet minute it would otherwise be one more round trip before the card is even read); the
  // handler waits for it before answering (settleLastUseWrites), so no write is left to a frozen instance.
  const key = entry.key;
  const write: Promise<void> = touchLastUsed(key, now)
    .catch((error: unknown) =>
      logger.warn("Could not record an API key's last use", { keyId: key.id, error: error as Error }),
    )
    .then(() => {
      lastUseWrites.delete(write);
    });
  lastUseWrites.add(write);
  return { key: publicRecord(key), merchant: entry.merchant };
}

/** Last-use writes started by authenticateApiKey and not yet finished. */
const lastUseWrites = new Set<Promise<void>>();

/** Waits for the last-use writes in flight (they never fail: a failure is logged). */
export async function settleLastUseWrites(): Promise<void> {
  if (lastUseWrites.size > 0) await Promise.all([...lastUseWrites]);
}

/** Records "last used" at a one-minute resolution, so a busy till does not write on every request. */
async function touchLastUsed(key: StoredKey, now: Date): Promise<void> {
  if (key.lastUsedAt && now.getTime() - Date.parse(key.lastUsedAt) < LAST_USED_RESOLUTION_MS) return;
  const lastUsedAt = now.toISOString();
  (key as { lastUsedAt?: string }).lastUsedAt = lastUsedAt;
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: apiKeyKey(key.id),
      UpdateExpression: 'SET lastUsedAt = :now',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':now': lastUsedAt },
    }),
  );
}

export function clearApiKeyCache(): void {
  cache.clear();
}
