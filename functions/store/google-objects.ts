import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  decideMessageType,
  decisionsToKeep,
  type GoogleMessageType,
  type NotifyDecision,
  notifyingCount,
} from '../core/google-wallet';
import { db, tableName } from './dynamo-client';

/**
 * What the platform knows of its Google Wallet passes (layout in table-definition.ts):
 *
 *   CARD#<cardId>         / GOOGLEOBJECT   a save link was handed out for the card: its object may exist
 *   PROGRAM#<programId>   / GOOGLECLASS    a save link carried the program's class: the class may exist
 *   GOOGLENOTIFY#<id>     / NOTIFY         messages decided for one object or class: which notified (at
 *                                          most 3 in 24 h) and which were added; TTL
 *
 * The wallet-sync consumer PATCHes and messages only cards with a GOOGLEOBJECT item, so cards nobody
 * saved cost no Google call.
 */
const objectKey = (cardId: string) => ({ PK: `CARD#${cardId}`, SK: 'GOOGLEOBJECT' });
const classKey = (programId: string) => ({ PK: `PROGRAM#${programId}`, SK: 'GOOGLECLASS' });
const notifyKey = (resourceId: string) => ({ PK: `GOOGLENOTIFY#${resourceId}`, SK: 'NOTIFY' });
const NOTIFY_TTL_SECONDS = 3 * 24 * 60 * 60;
const MAX_CLAIM_ATTEMPTS = 10;

async function putOnce(item: Record<string, unknown>): Promise<void> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: item,
        // Written once: the first save link's time stays.
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

export async function rememberGoogleObject(
  cardId: string,
  programId: string,
  objectId: string,
  classId: string,
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  await Promise.all([
    putOnce({ ...objectKey(cardId), cardId, objectId, createdAt: at }),
    putOnce({ ...classKey(programId), programId, classId, createdAt: at }),
  ]);
}

export async function findGoogleObjectId(cardId: string): Promise<string | undefined> {
  // Consistent: a link handed out a moment ago must see this change (functions/wallet/google-passes.ts).
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: objectKey(cardId), ConsistentRead: true }),
  );
  return typeof out.Item?.objectId === 'string' ? out.Item.objectId : undefined;
}

export async function findGoogleClassId(programId: string): Promise<string | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: classKey(programId), ConsistentRead: true }),
  );
  return typeof out.Item?.classId === 'string' ? out.Item.classId : undefined;
}

interface NotifyRecord {
  readonly decisions: NotifyDecision[];
  readonly sent: string[];
  readonly version: number;
}

async function readNotify(resourceId: string): Promise<NotifyRecord | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: notifyKey(resourceId), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  return {
    decisions: (out.Item.decisions as NotifyDecision[] | undefined) ?? [],
    sent: (out.Item.sent as string[] | undefined) ?? [],
    version: Number(out.Item.version ?? 0),
  };
}

async function writeNotify(
  resourceId: string,
  next: NotifyRecord,
  before: NotifyRecord | undefined,
  now: Date,
) {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...notifyKey(resourceId),
        decisions: next.decisions,
        sent: next.sent,
        version: next.version,
        ttl: Math.floor(now.getTime() / 1000) + NOTIFY_TTL_SECONDS,
      },
      // Guarantees: two messages racing for the last notification slot cannot both take it.
      ConditionExpression: before ? 'version = :version' : 'attribute_not_exists(PK)',
      ...(before ? { ExpressionAttributeValues: { ':version': before.version } } : {}),
    }),
  );
}

/** Notifying messages of this object or class in the last 24 h. */
export async function notifyingMessages(resourceId: string, now: Date): Promise<number> {
  const record = await readNotify(resourceId);
  return record ? notifyingCount(record.decisions, now) : 0;
}

export interface MessageClaim {
  readonly type: GoogleMessageType;
  /** A replay of a message already added to Google: nothing to send. */
  readonly alreadySent: boolean;
  /**
   * The message was decided by an earlier delivery that did not record it added: it may have reached
   * Google before a crash, so the caller looks at the resource before adding it again.
   */
  readonly decidedBefore: boolean;
}

/**
 * Decides once per message, at its first delivery (`now`), whether it notifies: TEXT_AND_NOTIFY while
 * fewer than 3 notifying messages (plus `alsoNotified`) were delivered in the 24 h before, TEXT after. A
 * replayed message finds its own decision and is neither counted again nor sent again once added.
 */
export async function claimMessageType(
  resourceId: string,
  messageId: string,
  now: Date,
  alsoNotified = 0,
): Promise<MessageClaim> {
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const before = await readNotify(resourceId);
    const own = before?.decisions.find((decision) => decision.messageId === messageId);
    if (own) {
      return { type: own.type, alreadySent: before?.sent.includes(messageId) ?? false, decidedBefore: true };
    }
    const kept = decisionsToKeep(before?.decisions ?? [], now);
    const type = decideMessageType(kept, now, alsoNotified);
    const keptIds = new Set(kept.map((decision) => decision.messageId));
    try {
      await writeNotify(
        resourceId,
        {
          decisions: [...kept, { messageId, at: now.toISOString(), type }],
          sent: (before?.sent ?? []).filter((id) => keptIds.has(id)),
          version: (before?.version ?? 0) + 1,
        },
        before,
        now,
      );
      return { type, alreadySent: false, decidedBefore: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  throw new Error(`the message count of ${resourceId} stayed contended`);
}

/**
 * Records that a message decided TEXT_AND_NOTIFY went out as TEXT (Google refused the notification): it
 * no longer counts against the pass's three a day.
 */
export async function downgradeMessageType(resourceId: string, messageId: string, now: Date): Promise<void> {
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const before = await readNotify(resourceId);
    if (!before) return;
    const decisions = before.decisions.map((decision) =>
      decision.messageId === messageId ? { ...decision, type: 'TEXT' as const } : decision,
    );
    try {
      await writeNotify(resourceId, { ...before, decisions, version: before.version + 1 }, before, now);
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  throw new Error(`the message record of ${resourceId} stayed contended`);
}

/** Records that the message was added at Google, so a replay does not add it again. */
export async function markMessageSent(resourceId: string, messageId: string, now: Date): Promise<void> {
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const before = await readNotify(resourceId);
    if (!before || before.sent.includes(messageId)) return;
    try {
      await writeNotify(
        resourceId,
        { ...before, sent: [...before.sent, messageId], version: before.version + 1 },
        before,
        now,
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  throw new Error(`the message record of ${resourceId} stayed contended`);
}
