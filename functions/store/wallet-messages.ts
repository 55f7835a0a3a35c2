import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import { newerMessage, type WalletMessage, type WalletMessageTarget } from '../core/wallet-message';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { withoutLayout } from './keys';
import { keyInProgress, type TransactItem, writeAtomically } from './transact';

type TransactPut = NonNullable<TransactItem['Put']>;

/**
 * Wallet messages (layout in table-definition.ts):
 *
 *   CARD#<cardId>       / WALLETMSG#<createdAt>#<msgId>   a message to one card's passes
 *   PROGRAM#<programId> / WALLETMSG#<createdAt>#<msgId>   a message to every pass of the program
 *
 * Written once, never changed. The wallet-sync stream consumer takes INSERTs whose SK starts with
 * `WALLETMSG#` and delivers them (APNs push for Apple, addMessage for Google); the Apple pass shows the
 * latest one that applies to the card.
 */
export const WALLET_MESSAGE_SK_PREFIX = 'WALLETMSG#';

const partitionOf = (target: WalletMessageTarget) =>
  'cardId' in target ? `CARD#${target.cardId}` : `PROGRAM#${target.programId}`;

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
      SK: `${WALLET_MESSAGE_SK_PREFIX}${stored.createdAt}#${id}`,
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
  const outcome = await writeAtomically([{ Put: put }], { claim: options.idempotency, result: stored, now });
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') throw new Error('A wallet message id collided; nothing was written');
  return stored;
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

/** The newest message that applies to the card: its own or its program's. */
export async function latestWalletMessage(
  cardId: string,
  programId: string,
): Promise<WalletMessage | undefined> {
  const [own, program] = await Promise.all([latestIn({ cardId }), latestIn({ programId })]);
  return newerMessage(own, program);
}
