import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import { newerMessage, type WalletMessage, type WalletMessageTarget } from '../core/wallet-message';
import { readItemInBatch } from './batched-reads';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { withoutLayout } from './keys';
import { backoff, keyInProgress, type TransactItem, writeAtomically } from './transact';

type TransactPut = NonNullable<TransactItem['Put']>;

/**
 * Wallet messages (layout in table-definition.ts):
 *
 *   CARD#<cardId>       / WALLETMSG#<createdAt>#<msgId>   a message to one card's passes
 *   PROGRAM#<programId> / WALLETMSG#<createdAt>#<msgId>   a message to every pass of the program
 *
 *   CARD#<cardId>       / LATESTWALLETMSG                 the card's latest message (a copy), or none
 *   PROGRAM#<programId> / LATESTWALLETMSG                 the program's
 *
 * Messages are written once, never changed. The wallet-sync stream consumer takes INSERTs whose SK starts
 * with `WALLETMSG#` and delivers them (APNs push for Apple, addMessage for Google); the Apple pass shows the
 * latest one that applies to the card. The pass reads it from the LATESTWALLETMSG items, in the same
 * BatchGetItem as the card and its program, instead of querying both partitions (BENCHMARKS.md, wallet
 * cold start, seventh pass). Their key must not start with `WALLETMSG#`: wallet-sync's stream filter and the
 * message Query match that prefix. Kept current by:
 * - a message sent through the API: in the message's own transaction (last committed wins);
 * - a promotion's messages: right after the delivery's transaction commits (it has no room for them: up
 *   to 50 cards, two items each, over TransactWriteItems' 100);
 * - wallet-sync, for every message it delivers, before it stamps the passes' new version: a device that
 *   fetches after the push reads it, even if the promotion run stopped before its own write. These two
 *   keep the newest by `createdAt#id` and ignore replays;
 * - the first read of a partition that has none (messages from before these items, or none at all):
 *   the latest message is queried and recorded, unless a message recorded one meanwhile.
 */
export const WALLET_MESSAGE_SK_PREFIX = 'WALLETMSG#';
export const LATEST_WALLET_MESSAGE_SK = 'LATESTWALLETMSG';
/** Transactions that lose to another message of the same partition (its LATESTWALLETMSG item) retry. */
const MESSAGE_ATTEMPTS = 10;

const partitionOf = (target: WalletMessageTarget) =>
  'cardId' in target ? `CARD#${target.cardId}` : `PROGRAM#${target.programId}`;

const latestKey = (target: WalletMessageTarget) => ({
  PK: partitionOf(target),
  SK: LATEST_WALLET_MESSAGE_SK,
});

const targetOf = (message: WalletMessage): WalletMessageTarget =>
  message.cardId ? { cardId: message.cardId } : { programId: message.programId as string };

const messageSkOf = (message: WalletMessage) =>
  `${WALLET_MESSAGE_SK_PREFIX}${message.createdAt}#${message.id}`;

/** The LATESTWALLETMSG item for `message` (undefined: the partition has no message). */
function latestItem(target: WalletMessageTarget, message: WalletMessage | undefined) {
  return {
    ...latestKey(target),
    // '' sorts before every message's key: any message replaces "none".
    messageSk: message ? messageSkOf(message) : '',
    ...(message ? { message } : {}),
  };
}

/**
 * The Put of a new message (for a caller's own transaction: a promotion writes it with the member's
 * once-record) and the message it stores.
 */
export function walletMessagePut(
  target: WalletMessageTarget,
  message: { header: string; body: string },
  actor: Actor,
  now: Date,
): { put: TransactPut; stored: WalletMessage } {
  const id = newId('wmsg', now);
  const stored: WalletMessage = {
    id,
    ...('cardId' in target ? { cardId: target.cardId } : { programId: target.programId }),
    header: message.header,
    body: message.body,
    actor,
    createdAt: now.toISOString(),
  };
  const put: TransactPut = {
    TableName: tableName(),
    Item: {
      PK: partitionOf(target),
      SK: messageSkOf(stored),
      ...stored,
    },
    // Guarantees: a message is written once (the id is random; this only refuses a collision).
    ConditionExpression: 'attribute_not_exists(PK)',
  };
  return { put, stored };
}

/**
 * Records a message (once per Idempotency-Key when the caller sent one: a retry gets the first message
 * back). Its INSERT is what the wallet-sync consumer delivers.
 */
export async function recordWalletMessage(
  target: WalletMessageTarget,
  message: { header: string; body: string },
  actor: Actor,
  options: { now?: Date; idempotency?: IdempotencyClaim | undefined } = {},
): Promise<WalletMessage> {
  const now = options.now ?? new Date();
  const { put, stored } = walletMessagePut(target, message, actor, now);
  // The partition's latest message, in the same transaction: a pass downloaded right after shows it.
  const latest: TransactPut = { TableName: tableName(), Item: latestItem(target, stored) };
  for (let attempt = 0; ; attempt++) {
    const outcome = await writeAtomically([{ Put: put }, { Put: latest }], {
      claim: options.idempotency,
      result: stored,
      now,
    });
    if (outcome.kind === 'replayed') return outcome.result;
    if (outcome.kind === 'key-busy') throw keyInProgress();
    if (outcome.kind === 'committed') return stored;
    // Another message to the same card or program was committing (its LATESTWALLETMSG item): again.
    const conflict = outcome.reasons.some((reason) => reason.code === 'TransactionConflict');
    if (!conflict) throw new Error('A wallet message id collided; nothing was written');
    if (attempt + 1 >= MESSAGE_ATTEMPTS) throw keyInProgress();
    await backoff(attempt);
  }
}

/**
 * Records `message` as its partition's latest unless a newer one (by `createdAt#id`) is recorded already:
 * wallet-sync, for every message it delivers, before the passes get their new version. A replay, or a
 * message older than the recorded one, changes nothing.
 */
export async function noteLatestWalletMessage(message: WalletMessage): Promise<void> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: latestItem(targetOf(message), message),
        ConditionExpression: 'attribute_not_exists(PK) OR messageSk < :sk',
        ExpressionAttributeValues: { ':sk': messageSkOf(message) },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

async function latestIn(target: WalletMessageTarget): Promise<WalletMessage | undefined> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': partitionOf(target), ':prefix': WALLET_MESSAGE_SK_PREFIX },
      ScanIndexForward: false,
      Limit: 1,
      // Read right after a push for this very message: a stale answer would serve the pass without it.
      ConsistentRead: true,
    }),
  );
  const item = out.Items?.[0];
  return item ? withoutLayout<WalletMessage>(item) : undefined;
}

/**
 * A partition's latest message from its LATESTWALLETMSG item, read in a batch of reads (the card's and
 * its program's: one BatchGetItem, strongly consistent). A partition without one is queried once and the
 * answer recorded (unless a message recorded its own meanwhile).
 */
async function latestOf(target: WalletMessageTarget): Promise<WalletMessage | undefined> {
  const item = await readItemInBatch(latestKey(target));
  if (item) return item.message ? (item.message as WalletMessage) : undefined;
  const queried = await latestIn(target);
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: latestItem(target, queried),
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // A message recorded its item after the Query: read that one.
    const recorded = await readItemInBatch(latestKey(target));
    return recorded?.message ? (recorded.message as WalletMessage) : queried;
  }
  return queried;
}

/** The newest message that applies to the card: its own or its program's. */
export async function latestWalletMessage(
  cardId: string,
  programId: string,
): Promise<WalletMessage | undefined> {
  const [own, program] = await Promise.all([latestOf({ cardId }), latestOf({ programId })]);
  return newerMessage(own, program);
}
