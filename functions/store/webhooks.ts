import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditContext, auditOfChange } from '../core/audit';
import { DomainError, notFound } from '../core/errors';
import { newId } from '../core/ids';
import type { Merchant } from '../core/merchant';
import type { WebhookEventType } from '../core/webhook-events';
import {
  type DeliveryStatus,
  MAX_WEBHOOKS_PER_MERCHANT,
  type Webhook,
  type WebhookDelivery,
} from '../core/webhook-model';
import { ATTEMPT_LEASE_MS, deadlineOf } from '../core/webhook-retry';
import { generateWebhookSecret } from '../core/webhook-signature';
import { auditInsert } from './audit';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { merchantKey, withoutLayout } from './keys';
import { batchGet, listByIndex } from './listing';
import { decodeCursor, encodeCursor, type Page } from './pagination';
import { sealingPepper } from './secrets';
import { keyInProgress, writeAtomically } from './transact';

/**
 * Webhook endpoints and their deliveries in the single table (layout in table-definition.ts):
 *
 *   WEBHOOK#<id>                / WEBHOOK      endpoint, secrets sealed   GSI1 MERCHANT#<m>#WEBHOOKS, GSI3 WEBHOOKS
 *   MERCHANT#<id>               / WEBHOOKS     count of the merchant's endpoints (the cap's guard)
 *   WHDELIVERY#<id>             / WHDELIVERY   one event for one endpoint  GSI1 WEBHOOK#<w>#DELIVERIES, GSI2 due
 *   WHLANE#<webhook>#<card>     / WHLANE       positions of the lane's PENDING deliveries (a string set)
 *
 * The lane item is what keeps events of one card in order for one endpoint: a delivery is attempted
 * only while it is the lowest position in its lane, read with a strongly consistent GetItem. A delivery
 * enters the lane in the transaction that creates it and leaves it in the one that ends it.
 */
const webhookKey = (id: string) => ({ PK: `WEBHOOK#${id}`, SK: 'WEBHOOK' });
const webhookCountKey = (merchantId: string) => ({ PK: merchantKey(merchantId).PK, SK: 'WEBHOOKS' });
const deliveryKey = (id: string) => ({ PK: `WHDELIVERY#${id}`, SK: 'WHDELIVERY' });
const laneKey = (webhookId: string, cardId: string) => ({
  PK: `WHLANE#${webhookId}#${cardId}`,
  SK: 'WHLANE',
});
const merchantWebhooksPk = (merchantId: string) => `MERCHANT#${merchantId}#WEBHOOKS`;
const ALL_WEBHOOKS_PK = 'WEBHOOKS';
const deliveriesPk = (webhookId: string) => `WEBHOOK#${webhookId}#DELIVERIES`;
const deliveriesSk = (status: DeliveryStatus, delivery: Pick<WebhookDelivery, 'createdAt' | 'id'>) =>
  `${status}#${delivery.createdAt}#${delivery.id}`;

/** Due deliveries are spread over this many index partitions (the retry sweep reads them all). */
export const DUE_SHARDS = 10;
const duePk = (deliveryId: string) =>
  `WEBHOOK#DUE#${(createHash('sha256').update(deliveryId).digest()[0] ?? 0) % DUE_SHARDS}`;
const dueSk = (nextAttemptAt: string, deliveryId: string) => `${nextAttemptAt}#${deliveryId}`;

/** Finished deliveries (and idle lanes) are kept this long, then TTL removes them. */
const KEEP_FINISHED_SECONDS = 30 * 24 * 3600;
const ttlFrom = (now: Date) => Math.floor(now.getTime() / 1000) + KEEP_FINISHED_SECONDS;

// --- secrets: sealed with AES-256-GCM under a key derived from the sealing pepper (fixed across pepper
// rotations), bound to the webhook id ---

interface StoredSecret {
  readonly sealed: string;
  readonly createdAt: string;
  /** Set when a newer secret replaced it: it keeps signing until then. */
  readonly expiresAt?: string;
}

interface StoredWebhook extends Webhook {
  readonly secrets: readonly StoredSecret[];
  readonly rotation: number;
}

/** A rotation keeps the replaced secret signing for this long. */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;
/** The current secret plus at most this many replaced ones still in their overlap. */
const MAX_OLD_SECRETS = 2;

let sealingKey: { pepper: string; key: Buffer } | undefined;
async function secretKey(): Promise<Buffer> {
  const pepper = await sealingPepper();
  if (sealingKey?.pepper !== pepper) {
    sealingKey = {
      pepper,
      key: Buffer.from(hkdfSync('sha256', pepper, 'giftcard', 'webhook-secret-v1', 32)),
    };
  }
  return sealingKey.key;
}

async function seal(secret: string, webhookId: string): Promise<string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await secretKey(), iv);
  cipher.setAAD(Buffer.from(webhookKey(webhookId).PK));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

async function unseal(sealed: string, webhookId: string): Promise<string> {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', await secretKey(), raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(webhookKey(webhookId).PK));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

const isLive = (secret: StoredSecret, now: Date) =>
  secret.expiresAt === undefined || Date.parse(secret.expiresAt) > now.getTime();

function publicWebhook(stored: StoredWebhook): Webhook {
  const { secrets: _secrets, rotation: _rotation, ...webhook } = stored;
  return webhook;
}

// --- endpoints ---

export interface CreatedWebhook extends Webhook {
  readonly secret: string;
}

export async function createWebhook(
  merchantId: string,
  input: { url: string; events: readonly WebhookEventType[] },
  claim: IdempotencyClaim | undefined,
  now = new Date(),
): Promise<CreatedWebhook> {
  const id = newId('wh', now);
  const secret = generateWebhookSecret();
  const webhook: Webhook = {
    id,
    merchantId,
    url: input.url,
    events: [...new Set(input.events)],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const stored: StoredWebhook = {
    ...webhook,
    secrets: [{ sealed: await seal(secret, id), createdAt: now.toISOString() }],
    rotation: 0,
  };
  const created: CreatedWebhook = { ...webhook, secret };
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            ...webhookKey(id),
            GSI1PK: merchantWebhooksPk(merchantId),
            GSI1SK: id,
            GSI3PK: ALL_WEBHOOKS_PK,
            GSI3SK: id,
            ...stored,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        // Guarantees: never more than MAX_WEBHOOKS_PER_MERCHANT endpoints, even under concurrent creates.
        Update: {
          TableName: tableName(),
          Key: webhookCountKey(merchantId),
          UpdateExpression: 'ADD webhookCount :one',
          ConditionExpression: 'attribute_not_exists(webhookCount) OR webhookCount < :max',
          ExpressionAttributeValues: { ':one': 1, ':max': MAX_WEBHOOKS_PER_MERCHANT },
        },
      },
      {
        ConditionCheck: {
          TableName: tableName(),
          Key: merchantKey(merchantId),
          ConditionExpression: 'attribute_exists(PK)',
        },
      },
    ],
    { claim, result: created, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') {
    if (outcome.reasons[1]?.code === 'ConditionalCheckFailed') {
      throw new DomainError(
        'LIMIT_EXCEEDED',
        `A merchant may register at most ${MAX_WEBHOOKS_PER_MERCHANT} webhooks; delete one first.`,
      );
    }
    if (outcome.reasons[2]?.code === 'ConditionalCheckFailed') throw notFound('The merchant');
    throw new DomainError('CONFLICT', 'The webhook could not be created; retry.');
  }
  return created;
}

async function findStoredWebhook(id: string): Promise<StoredWebhook | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: webhookKey(id), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<StoredWebhook>(out.Item) : undefined;
}

export async function findWebhook(id: string): Promise<Webhook | undefined> {
  const stored = await findStoredWebhook(id);
  return stored ? publicWebhook(stored) : undefined;
}

export function listWebhooks(merchantId: string, limit: number, cursor?: string): Promise<Page<Webhook>> {
  return listByIndex('GSI1', merchantWebhooksPk(merchantId), { limit, cursor, newestFirst: true }, (item) =>
    publicWebhook(withoutLayout<StoredWebhook>(item)),
  );
}

/** Every endpoint of every merchant (the stream consumer matches events against them). */
export async function allWebhooks(): Promise<Webhook[]> {
  const webhooks: Webhook[] = [];
  let cursor: string | undefined;
  do {
    const page = await listByIndex(
      'GSI3',
      ALL_WEBHOOKS_PK,
      { limit: 500, cursor, newestFirst: false },
      (item) => publicWebhook(withoutLayout<StoredWebhook>(item)),
    );
    webhooks.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return webhooks;
}

/** The merchants with these ids, read fresh (program membership decides who receives what). */
export async function merchantsById(ids: readonly string[]): Promise<Map<string, Merchant>> {
  const items = await batchGet([...new Set(ids)].map(merchantKey));
  const merchants = new Map<string, Merchant>();
  for (const item of items.values()) {
    const merchant = withoutLayout<Merchant>(item);
    merchants.set(merchant.id, merchant);
  }
  return merchants;
}

/**
 * Deletes the endpoint; its pending deliveries are dropped by the retry sweep, finished ones expire.
 * With an audit context (staff), the audit record is written in the same transaction.
 */
export async function deleteWebhook(webhook: Webhook, audit?: AuditContext, now = new Date()): Promise<void> {
  const snapshot = {
    id: webhook.id,
    merchantId: webhook.merchantId,
    url: webhook.url,
    events: webhook.events,
    createdAt: webhook.createdAt,
  };
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: tableName(),
              Key: webhookKey(webhook.id),
              ConditionExpression: 'merchantId = :merchant',
              ExpressionAttributeValues: { ':merchant': webhook.merchantId },
            },
          },
          {
            Update: {
              TableName: tableName(),
              Key: webhookCountKey(webhook.merchantId),
              UpdateExpression: 'ADD webhookCount :minusOne',
              ExpressionAttributeValues: { ':minusOne': -1 },
            },
          },
          ...(audit
            ? [
                auditInsert(
                  auditOfChange(audit, {
                    action: 'webhook.delete',
                    subjectType: 'webhook',
                    subjectId: webhook.id,
                    merchantId: webhook.merchantId,
                    at: now,
                    before: snapshot,
                    after: null,
                  }),
                ),
              ]
            : []),
        ],
      }),
    );
  } catch (error) {
    if (error instanceof TransactionCanceledException) throw notFound('The webhook');
    throw error;
  }
}

export interface RotatedSecret {
  readonly secret: string;
  readonly previousSecretExpiresAt: string;
}

/**
 * A new signing secret; the one it replaces keeps signing for SECRET_OVERLAP_MS, so receivers can
 * switch over without losing a delivery (both signatures are sent meanwhile).
 */
export async function rotateWebhookSecret(
  webhookId: string,
  claim: IdempotencyClaim | undefined,
  now = new Date(),
): Promise<RotatedSecret> {
  const current = await findStoredWebhook(webhookId);
  if (!current) throw notFound('The webhook');
  const secret = generateWebhookSecret();
  const previousSecretExpiresAt = new Date(now.getTime() + SECRET_OVERLAP_MS).toISOString();
  const [primary, ...older] = current.secrets;
  const secrets: StoredSecret[] = [
    { sealed: await seal(secret, webhookId), createdAt: now.toISOString() },
    ...(primary ? [{ ...primary, expiresAt: previousSecretExpiresAt }] : []),
    ...older.filter((old) => isLive(old, now)).slice(0, MAX_OLD_SECRETS - 1),
  ];
  const result: RotatedSecret = { secret, previousSecretExpiresAt };
  const outcome = await writeAtomically(
    [
      {
        Update: {
          TableName: tableName(),
          Key: webhookKey(webhookId),
          UpdateExpression:
            'SET secrets = :secrets, rotation = :next, secretRotatedAt = :now, previousSecretExpiresAt = :expires, updatedAt = :now',
          // Guarantees: two concurrent rotations cannot both replace the same secret.
          ConditionExpression: 'rotation = :seen',
          ExpressionAttributeValues: {
            ':secrets': secrets,
            ':next': current.rotation + 1,
            ':seen': current.rotation,
            ':now': now.toISOString(),
            ':expires': previousSecretExpiresAt,
          },
        },
      },
    ],
    { claim, result, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') {
    throw new DomainError('CONFLICT', 'The webhook changed while its secret was being rotated; retry.');
  }
  return result;
}

/**
 * What sending to an endpoint needs: its URL and the secrets that sign now, the current one first,
 * then any replaced one still in its overlap. Undefined when the endpoint was deleted.
 */
export async function endpointForSending(
  webhookId: string,
  now: Date,
): Promise<{ webhook: Webhook; secrets: string[] } | undefined> {
  const stored = await findStoredWebhook(webhookId);
  if (!stored) return undefined;
  const secrets = await Promise.all(
    stored.secrets.filter((s) => isLive(s, now)).map((s) => unseal(s.sealed, webhookId)),
  );
  return { webhook: publicWebhook(stored), secrets };
}

// --- deliveries ---

const PENDING: DeliveryStatus = 'PENDING';
const laneMember = (delivery: Pick<WebhookDelivery, 'position' | 'id'>) =>
  `${delivery.position}.${delivery.id}`;

const toDelivery = (item: Record<string, unknown>): WebhookDelivery => withoutLayout<WebhookDelivery>(item);

export type NewDelivery = Omit<
  WebhookDelivery,
  'status' | 'attempts' | 'createdAt' | 'deadline' | 'nextAttemptAt' | 'payload'
> & { readonly payload: string; readonly eventCreatedAt: string };

const laneTouch = (now: Date) => ({ ':ttl': ttlFrom(now) });

/**
 * Writes the delivery (PENDING, leased to the caller for its first attempt) and puts it in its lane,
 * in one transaction. 'exists' when it was written before: a replayed stream record adds nothing.
 */
export async function createDelivery(
  input: NewDelivery,
  now: Date,
): Promise<{ kind: 'created'; delivery: WebhookDelivery } | { kind: 'exists' }> {
  const { eventCreatedAt, ...rest } = input;
  const eventTime = Number.isNaN(Date.parse(eventCreatedAt)) ? now : new Date(eventCreatedAt);
  const nextAttemptAt = new Date(now.getTime() + ATTEMPT_LEASE_MS).toISOString();
  const delivery: WebhookDelivery = {
    ...rest,
    status: PENDING,
    attempts: 0,
    createdAt: now.toISOString(),
    deadline: deadlineOf(eventTime).toISOString(),
    nextAttemptAt,
  };
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName(),
              Item: {
                ...deliveryKey(delivery.id),
                GSI1PK: deliveriesPk(delivery.webhookId),
                GSI1SK: deliveriesSk(PENDING, delivery),
                GSI2PK: duePk(delivery.id),
                GSI2SK: dueSk(nextAttemptAt, delivery.id),
                ...delivery,
              },
              // Guarantees: one delivery per (endpoint, event), however often the stream replays.
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
          {
            Update: {
              TableName: tableName(),
              Key: laneKey(delivery.webhookId, delivery.cardId),
              UpdateExpression: 'ADD pending :member SET #ttl = :ttl',
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: { ':member': new Set([laneMember(delivery)]), ...laneTouch(now) },
            },
          },
        ],
      }),
    );
    return { kind: 'created', delivery };
  } catch (error) {
    if (
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
    ) {
      return { kind: 'exists' };
    }
    throw error;
  }
}

export async function findDelivery(id: string): Promise<WebhookDelivery | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: deliveryKey(id), ConsistentRead: true }),
  );
  return out.Item ? toDelivery(out.Item) : undefined;
}

/** The lane's first pending delivery (strongly consistent read), or undefined when none waits. */
export async function laneHead(
  webhookId: string,
  cardId: string,
): Promise<{ position: string; id: string } | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: laneKey(webhookId, cardId), ConsistentRead: true }),
  );
  const pending = out.Item?.pending;
  if (!(pending instanceof Set) || pending.size === 0) return undefined;
  const first = [...(pending as Set<string>)].sort()[0] ?? '';
  const split = first.lastIndexOf('.');
  return { position: first.slice(0, split), id: first.slice(split + 1) };
}

/** Removes a lane member whose delivery is gone or finished (repairs; normally the finishing write does it). */
export async function leaveLane(delivery: Pick<WebhookDelivery, 'webhookId' | 'cardId' | 'position' | 'id'>) {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: laneKey(delivery.webhookId, delivery.cardId),
      UpdateExpression: 'DELETE pending :member',
      ExpressionAttributeValues: { ':member': new Set([laneMember(delivery)]) },
    }),
  );
}

const isConditionFailure = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'ConditionalCheckFailedException' || error.name === 'TransactionCanceledException');

/**
 * Moves a PENDING delivery's next attempt, provided no one else moved it since `seen` was read: the
 * lease taken before an attempt (so no one attempts it at the same time), or a release or deferral.
 */
export async function moveNextAttempt(
  delivery: WebhookDelivery,
  to: Date,
): Promise<WebhookDelivery | undefined> {
  const next = to.toISOString();
  try {
    const out = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: deliveryKey(delivery.id),
        UpdateExpression: 'SET nextAttemptAt = :next, GSI2SK = :dueSk',
        ConditionExpression: '#status = :pending AND nextAttemptAt = :seen',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':next': next,
          ':dueSk': dueSk(next, delivery.id),
          ':pending': PENDING,
          ':seen': delivery.nextAttemptAt ?? '',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes ? toDelivery(out.Attributes) : undefined;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

export interface AttemptOutcome {
  readonly at: Date;
  readonly statusCode?: number;
  readonly error?: string;
}

/** A failed attempt that will be tried again at `nextAttemptAt`. */
export async function recordRetry(
  delivery: WebhookDelivery,
  attempt: AttemptOutcome,
  nextAttemptAt: Date,
): Promise<void> {
  const next = nextAttemptAt.toISOString();
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: deliveryKey(delivery.id),
        UpdateExpression: `SET attempts = attempts + :one, lastAttemptAt = :at, lastError = :error, nextAttemptAt = :next, GSI2SK = :dueSk${
          attempt.statusCode === undefined ? ' REMOVE lastStatusCode' : ', lastStatusCode = :code'
        }`,
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':at': attempt.at.toISOString(),
          ':error': attempt.error ?? 'failed',
          ':next': next,
          ':dueSk': dueSk(next, delivery.id),
          ':pending': PENDING,
          ...(attempt.statusCode === undefined ? {} : { ':code': attempt.statusCode }),
        },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Ends a PENDING delivery (DELIVERED, or DEAD when its window closed) and takes it out of its lane and
 * the due index, in one transaction. `attempted`: an HTTP attempt happened and counts.
 */
export async function recordFinal(
  delivery: WebhookDelivery,
  status: 'DELIVERED' | 'DEAD',
  attempt: AttemptOutcome,
  attempted = true,
): Promise<void> {
  const at = attempt.at.toISOString();
  const sets = [
    '#status = :status',
    'GSI1SK = :listSk',
    '#ttl = :ttl',
    status === 'DELIVERED' ? 'deliveredAt = :at' : 'deadAt = :at',
  ];
  const removes = ['GSI2PK', 'GSI2SK', 'nextAttemptAt'];
  const values: Record<string, unknown> = {
    ':status': status,
    ':listSk': deliveriesSk(status, delivery),
    ':ttl': ttlFrom(attempt.at),
    ':at': at,
    ':pending': PENDING,
  };
  if (attempted) {
    sets.push('attempts = attempts + :one', 'lastAttemptAt = :at');
    values[':one'] = 1;
  }
  if (attempt.error !== undefined) {
    sets.push('lastError = :error');
    values[':error'] = attempt.error;
  } else if (status === 'DELIVERED') {
    removes.push('lastError');
  }
  if (attempt.statusCode !== undefined) {
    sets.push('lastStatusCode = :code');
    values[':code'] = attempt.statusCode;
  }
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName(),
              Key: deliveryKey(delivery.id),
              UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
              ConditionExpression: '#status = :pending',
              ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
              ExpressionAttributeValues: values,
            },
          },
          {
            Update: {
              TableName: tableName(),
              Key: laneKey(delivery.webhookId, delivery.cardId),
              UpdateExpression: 'DELETE pending :member SET #ttl = :ttl',
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':member': new Set([laneMember(delivery)]),
                ...laneTouch(attempt.at),
              },
            },
          },
        ],
      }),
    );
  } catch (error) {
    // Someone else ended it first (a lease that ran out mid-attempt): their record stands.
    if (!isConditionFailure(error)) throw error;
  }
}

/** Drops a pending delivery whose endpoint was deleted: nobody can see or receive it any more. */
export async function dropDelivery(delivery: WebhookDelivery): Promise<void> {
  await db().send(
    new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: tableName(), Key: deliveryKey(delivery.id) } },
        {
          Update: {
            TableName: tableName(),
            Key: laneKey(delivery.webhookId, delivery.cardId),
            UpdateExpression: 'DELETE pending :member',
            ExpressionAttributeValues: { ':member': new Set([laneMember(delivery)]) },
          },
        },
      ],
    }),
  );
}

/**
 * Puts a DEAD delivery back in its lane, due now, with a fresh 24 h window; the retry sweep sends it.
 * Only DEAD deliveries can be re-driven (a pending one is already being tried; a delivered one arrived).
 */
export async function redriveDelivery(delivery: WebhookDelivery, now: Date): Promise<WebhookDelivery> {
  const next = now.toISOString();
  const redriven: WebhookDelivery = {
    ...delivery,
    status: PENDING,
    nextAttemptAt: next,
    deadline: deadlineOf(now).toISOString(),
    redrivenAt: next,
  };
  const { deadAt: _deadAt, ...withoutDeadAt } = redriven;
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName(),
              Key: deliveryKey(delivery.id),
              UpdateExpression:
                'SET #status = :pending, nextAttemptAt = :next, deadline = :deadline, redrivenAt = :next, GSI1SK = :listSk, GSI2PK = :duePk, GSI2SK = :dueSk REMOVE deadAt, #ttl',
              ConditionExpression: '#status = :dead',
              ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':pending': PENDING,
                ':dead': 'DEAD',
                ':next': next,
                ':deadline': redriven.deadline,
                ':listSk': deliveriesSk(PENDING, delivery),
                ':duePk': duePk(delivery.id),
                ':dueSk': dueSk(next, delivery.id),
              },
            },
          },
          {
            Update: {
              TableName: tableName(),
              Key: laneKey(delivery.webhookId, delivery.cardId),
              UpdateExpression: 'ADD pending :member SET #ttl = :ttl',
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: { ':member': new Set([laneMember(delivery)]), ...laneTouch(now) },
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) {
      throw new DomainError('CONFLICT', 'Only a DEAD delivery can be retried; this one is not dead.');
    }
    throw error;
  }
  return withoutDeadAt;
}

/** Deliveries of one endpoint, newest first, optionally of one status. */
export async function listDeliveries(
  webhookId: string,
  filter: { status?: DeliveryStatus; limit: number; cursor?: string },
): Promise<Page<WebhookDelivery>> {
  const partition = deliveriesPk(webhookId);
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI1',
      KeyConditionExpression: filter.status
        ? 'GSI1PK = :pk AND begins_with(GSI1SK, :status)'
        : 'GSI1PK = :pk',
      ExpressionAttributeValues: {
        ':pk': partition,
        ...(filter.status ? { ':status': `${filter.status}#` } : {}),
      },
      Limit: filter.limit,
      ScanIndexForward: false,
      ExclusiveStartKey: decodeCursor(filter.cursor, { GSI1PK: partition }),
    }),
  );
  const keys = (out.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
  const items = await batchGet(keys);
  return {
    items: keys.flatMap((key) => {
      const item = items.get(`${key.PK}|${key.SK}`);
      if (!item) return [];
      const delivery = toDelivery(item);
      // The index lags the item by a moment: never show a delivery under a status it has left.
      return filter.status && delivery.status !== filter.status ? [] : [delivery];
    }),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

/** Ids of PENDING deliveries whose next attempt is due at `now`, oldest first per shard. */
export async function dueDeliveryIds(now: Date, limit: number): Promise<string[]> {
  const upper = `${now.toISOString()}#~`;
  const ids: string[] = [];
  for (let shard = 0; shard < DUE_SHARDS && ids.length < limit; shard++) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await db().send(
        new QueryCommand({
          TableName: tableName(),
          IndexName: 'GSI2',
          KeyConditionExpression: 'GSI2PK = :pk AND GSI2SK <= :upper',
          ExpressionAttributeValues: { ':pk': `WEBHOOK#DUE#${shard}`, ':upper': upper },
          Limit: Math.min(limit - ids.length, 500),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) ids.push(String(item.PK).slice('WHDELIVERY#'.length));
      start = out.LastEvaluatedKey;
    } while (start && ids.length < limit);
  }
  return ids;
}

export async function deliveriesById(ids: readonly string[]): Promise<WebhookDelivery[]> {
  const items = await batchGet(ids.map(deliveryKey));
  return [...items.values()].map(toDelivery);
}
