import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Delivery, DeliveryRecipient, DeliveryStatus } from '../core/delivery/delivery';
import { db, tableName } from './dynamo-client';
import {
  claimTokenKey,
  DELIVERY_DUE_SHARDS,
  deliveryKey,
  deliveryMessageIndexPk,
  dueDeliveriesIndexPk,
  shardOf,
  withoutLayout,
} from './keys';
import { batchGet } from './listing';
import type { TransactItem } from './transact';

/**
 * E-gift deliveries (layout in keys.ts):
 *
 *   DELIVERY#<cardId> / DELIVERY   the delivery, with the card's code sealed (store/sealed-values.ts)
 *                                  GSI1: DELIVERY#DUE#<shard> / <sendAt>#<cardId> while SCHEDULED or SENDING
 *                                  GSI2: DELIVERY#MESSAGE#<providerMessageId> / <cardId> once sent
 *   CLAIM#<sha256> / CLAIM         the one live claim token of a delivery (store/claim-tokens.ts)
 *
 * Every change is conditioned on the version it read, so a cancel racing the sender, or two resends,
 * cannot both win. The sender moves a delivery to SENDING with its new claim token before it sends.
 */
export interface StoredDelivery {
  readonly delivery: Delivery;
  readonly sealedCode: Uint8Array;
}

const dueSk = (sendAt: string, cardId: string) => `${sendAt}#${cardId}`;
const dueIndex = (cardId: string, sendAt: string) => ({
  GSI1PK: dueDeliveriesIndexPk(shardOf(cardId, DELIVERY_DUE_SHARDS)),
  GSI1SK: dueSk(sendAt, cardId),
});

/** The new delivery, as one action of the transaction that issues its card. */
export function deliveryPut(delivery: Delivery, sealedCode: Uint8Array): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...deliveryKey(delivery.cardId),
        ...(delivery.status === 'SCHEDULED' ? dueIndex(delivery.cardId, delivery.sendAt) : {}),
        ...delivery,
        sealedCode,
      },
      // Guarantees: a card has one delivery.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

export async function findDelivery(cardId: string): Promise<StoredDelivery | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: deliveryKey(cardId), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const { sealedCode, ...rest } = out.Item;
  return { delivery: withoutLayout<Delivery>(rest), sealedCode: sealedCode as Uint8Array };
}

/** Cards whose delivery is due at `now` (SCHEDULED, or SENDING past its lease), oldest first, at most `limit`. */
export async function dueDeliveryCards(now: Date, limit: number): Promise<string[]> {
  const cards: string[] = [];
  for (let shard = 0; shard < DELIVERY_DUE_SHARDS && cards.length < limit; shard++) {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK <= :now',
        ExpressionAttributeValues: { ':pk': dueDeliveriesIndexPk(shard), ':now': `${now.toISOString()}#~` },
        Limit: limit - cards.length,
      }),
    );
    for (const item of out.Items ?? []) cards.push(String(item.PK).slice('DELIVERY#'.length));
  }
  return cards;
}

export async function findDeliveries(cardIds: readonly string[]): Promise<Delivery[]> {
  const found = await batchGet(cardIds.map((cardId) => deliveryKey(cardId)));
  return [...found.values()].map((item) => {
    const { sealedCode: _sealed, ...rest } = item;
    return withoutLayout<Delivery>(rest);
  });
}

type Changes = Readonly<Record<string, unknown>>;

/** SET/REMOVE of `changes` (undefined removes) plus the version step, conditioned on the version read. */
function versionedUpdate(
  current: Delivery,
  changes: Changes,
  allowed: readonly DeliveryStatus[],
): NonNullable<TransactItem['Update']> {
  const names: Record<string, string> = { '#status': 'status', '#version': 'version' };
  const values: Record<string, unknown> = { ':version': current.version, ':next': current.version + 1 };
  const sets = ['#version = :next'];
  const removes: string[] = [];
  Object.entries(changes).forEach(([name, value], index) => {
    names[`#a${index}`] = name;
    if (value === undefined) removes.push(`#a${index}`);
    else {
      values[`:v${index}`] = value;
      sets.push(`#a${index} = :v${index}`);
    }
  });
  allowed.forEach((status, index) => {
    values[`:s${index}`] = status;
  });
  return {
    TableName: tableName(),
    Key: deliveryKey(current.cardId),
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    // Guarantees: a change applies to the state it was decided on (no lost update, no illegal transition).
    ConditionExpression: `#version = :version AND #status IN (${allowed.map((_, i) => `:s${i}`).join(', ')})`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Applies a change; false when the delivery moved on since it was read. */
export async function changeDelivery(
  current: Delivery,
  changes: Changes,
  allowed: readonly DeliveryStatus[],
  extra: readonly TransactItem[] = [],
): Promise<boolean> {
  const update = versionedUpdate(current, changes, allowed);
  try {
    if (extra.length === 0) await db().send(new UpdateCommand(update));
    else await db().send(new TransactWriteCommand({ TransactItems: [{ Update: update }, ...extra] }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    if (error instanceof TransactionCanceledException) {
      if (error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
    }
    throw error;
  }
}

/** Index attributes of a delivery in a given state (for `changeDelivery`). */
export const dueAt = (cardId: string, sendAt: string): Changes => dueIndex(cardId, sendAt);
export const notDue: Changes = { GSI1PK: undefined, GSI1SK: undefined };
export const byMessage = (cardId: string, providerMessageId: string): Changes => ({
  GSI2PK: deliveryMessageIndexPk(providerMessageId),
  GSI2SK: cardId,
});

/** The card whose last message had this provider id (SES events name the message, not the card). */
export async function deliveryCardByMessage(providerMessageId: string): Promise<string | undefined> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI2',
      KeyConditionExpression: 'GSI2PK = :pk',
      ExpressionAttributeValues: { ':pk': deliveryMessageIndexPk(providerMessageId) },
      Limit: 1,
    }),
  );
  const item = out.Items?.[0];
  return item ? String(item.GSI2SK) : undefined;
}

/** The claim token put and the old token's delete, for the transaction that replaces a delivery's token. */
export function tokenSwap(
  cardId: string,
  next: { readonly hash: string; readonly expiresAt: string },
  previousHash: string | undefined,
): TransactItem[] {
  const expiresAtSeconds = Math.floor(Date.parse(next.expiresAt) / 1000);
  return [
    {
      Put: {
        TableName: tableName(),
        Item: {
          ...claimTokenKey(next.hash),
          cardId,
          purpose: 'egift-claim',
          expiresAt: next.expiresAt,
          opens: 0,
          ttl: expiresAtSeconds + 86_400,
        },
        // Guarantees: a token hash names one delivery (256 random bits never collide in practice).
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    ...(previousHash ? [{ Delete: { TableName: tableName(), Key: claimTokenKey(previousHash) } }] : []),
  ];
}

/** Deletes a claim token: its link stops working (a resend, with the delivery's change). */
export const claimTokenDelete = (tokenHash: string): TransactItem => ({
  Delete: { TableName: tableName(), Key: claimTokenKey(tokenHash) },
});

export type ClaimTokenRead = { readonly cardId: string; readonly expiresAt: string; readonly opens: number };

/**
 * Counts one open of a claim token and returns what it names, or undefined when there is no such token,
 * it expired, or it was opened its most times: the caller cannot tell which.
 */
export async function openClaimToken(
  tokenHash: string,
  now: Date,
  maxOpens: number,
): Promise<ClaimTokenRead | undefined> {
  try {
    const out = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: claimTokenKey(tokenHash),
        UpdateExpression: 'ADD opens :one',
        // Guarantees: an expired or used-up token opens nothing, however many requests race.
        ConditionExpression: 'attribute_exists(PK) AND expiresAt > :now AND opens < :max',
        ExpressionAttributeValues: { ':one': 1, ':now': now.toISOString(), ':max': maxOpens },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = out.Attributes;
    return item
      ? { cardId: String(item.cardId), expiresAt: String(item.expiresAt), opens: Number(item.opens) }
      : undefined;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

export type { DeliveryRecipient };
