import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { notFound } from '../core/errors';
import type { Actor } from '../core/ledger';
import type { Promotion, PromotionCounts } from '../core/promotion';
import type { WalletMessage } from '../core/wallet-message';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { memberPartition, memberPromoDayKey, promotionKey, withoutLayout } from './keys';
import { listByIndex } from './listing';
import { backoff, keyInProgress, type TransactItem, writeAtomically } from './transact';
import { noteLatestWalletMessage, walletMessagePut } from './wallet-messages';

/**
 * Promotions (LOYALTY#<lp> / PROMO#<id>) and the per-member records that cap and dedupe their delivery.
 *
 * While QUEUED or SENDING a promotion is listed on GSI1 `PROMOTIONS#ACTIVE` (oldest first): the
 * background run's work list. Besides the domain fields its item holds the run's state: `cursor` (the
 * members' list position after `pagesDone` pages) and the lease (`leaseOwner`, `leaseUntil`) of the run
 * working on it, so two runs never walk one promotion at once and a dead run's lease runs out.
 */
export const ACTIVE_PROMOTIONS_INDEX_PK = 'PROMOTIONS#ACTIVE';

/** Tries of one member's delivery when another write to their day counter conflicts. */
const DELIVERY_ATTEMPTS = 5;

const RUN_STATE = ['cursor', 'leaseOwner', 'leaseUntil', 'actor'] as const;

function toPromotion(item: Record<string, unknown>): Promotion {
  const promotion = withoutLayout<Record<string, unknown>>(item);
  for (const attribute of RUN_STATE) delete promotion[attribute];
  return promotion as unknown as Promotion;
}

/** A promotion taken by a run: the promotion and where its walk stands. */
export interface LeasedPromotion {
  readonly promotion: Promotion;
  readonly cursor: string | undefined;
  /** Who created it: the actor of its wallet messages. */
  readonly actor: Actor;
}

/** Records a QUEUED promotion (and, with a key, its idempotency record), on the work list. */
export async function createPromotion(
  promotion: Promotion,
  actor: Actor,
  claim: IdempotencyClaim | undefined,
  now: Date,
) {
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            ...promotionKey(promotion.loyaltyProgramId, promotion.id),
            GSI1PK: ACTIVE_PROMOTIONS_INDEX_PK,
            GSI1SK: `${promotion.createdAt}#${promotion.id}`,
            ...promotion,
            actor,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
    ],
    { claim, result: promotion, now },
  );
  if (outcome.kind === 'replayed') return { promotion: outcome.result, replayed: true };
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') throw new Error('A promotion id collided');
  return { promotion, replayed: false };
}

export async function getPromotion(loyaltyProgramId: string, promotionId: string): Promise<Promotion> {
  const out = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: promotionKey(loyaltyProgramId, promotionId),
      ConsistentRead: true,
    }),
  );
  if (!out.Item) throw notFound('The promotion');
  return toPromotion(out.Item);
}

/** Promotions still to send (QUEUED or SENDING), oldest first, at most `limit`. */
export async function activePromotions(limit: number): Promise<Promotion[]> {
  const page = await listByIndex(
    'GSI1',
    ACTIVE_PROMOTIONS_INDEX_PK,
    { limit, newestFirst: false },
    toPromotion,
  );
  return page.items.filter((promotion) => promotion.status !== 'SENT');
}

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/**
 * Takes the promotion for one run until `leaseUntil`: only while it is unsent and no other run holds a
 * live lease. Undefined: another run has it (or it is sent).
 */
export async function leasePromotion(
  promotion: Pick<Promotion, 'id' | 'loyaltyProgramId'>,
  owner: string,
  now: Date,
  leaseMs: number,
): Promise<LeasedPromotion | undefined> {
  try {
    const out = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: promotionKey(promotion.loyaltyProgramId, promotion.id),
        UpdateExpression:
          'SET leaseOwner = :owner, leaseUntil = :until, #status = :sending, startedAt = if_not_exists(startedAt, :now)',
        // Guarantees: one run at a time walks a promotion; a dead run's lease runs out.
        ConditionExpression:
          'attribute_exists(PK) AND #status <> :sent AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':owner': owner,
          ':until': new Date(now.getTime() + leaseMs).toISOString(),
          ':now': now.toISOString(),
          ':sending': 'SENDING',
          ':sent': 'SENT',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = out.Attributes ?? {};
    return {
      promotion: toPromotion(item),
      cursor: typeof item.cursor === 'string' ? item.cursor : undefined,
      actor: item.actor as Actor,
    };
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Records one page of the walk: the counts added, the cursor moved past it, the lease renewed; with no
 * next page, the promotion SENT (and off the work list). Only by the lease's owner and only on the page
 * it read (`pagesDone` unchanged since): a page is counted once whatever crashed before. False: the
 * lease was lost, nothing recorded.
 */
export async function recordPromotionPage(
  promotion: Pick<Promotion, 'id' | 'loyaltyProgramId' | 'pagesDone'>,
  owner: string,
  page: { readonly counts: PromotionCounts; readonly nextCursor: string | undefined },
  now: Date,
  leaseMs: number,
): Promise<boolean> {
  const names = Object.fromEntries(Object.keys(page.counts).map((name) => [`#${name}`, name]));
  const values = Object.fromEntries(Object.entries(page.counts).map(([name, value]) => [`:${name}`, value]));
  const adds = Object.keys(page.counts).map((name) => `counts.#${name} = counts.#${name} + :${name}`);
  const done = page.nextCursor === undefined;
  const progress = done
    ? ['#status = :sent', 'sentAt = :now', 'pagesDone = :next']
    : ['pagesDone = :next', '#cursor = :cursor', 'leaseUntil = :until'];
  const remove = done ? ' REMOVE GSI1PK, GSI1SK, #cursor, leaseOwner, leaseUntil' : '';
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: promotionKey(promotion.loyaltyProgramId, promotion.id),
        UpdateExpression: `SET ${[...progress, ...adds].join(', ')}${remove}`,
        // Guarantees: a page's counts are added once, by the run holding the lease, in page order.
        ConditionExpression: 'leaseOwner = :owner AND pagesDone = :pages',
        ExpressionAttributeNames: { ...(done ? { '#status': 'status' } : {}), '#cursor': 'cursor', ...names },
        ExpressionAttributeValues: {
          ':owner': owner,
          ':pages': promotion.pagesDone,
          ':next': promotion.pagesDone + 1,
          ...(done
            ? { ':sent': 'SENT', ':now': now.toISOString() }
            : { ':cursor': page.nextCursor, ':until': new Date(now.getTime() + leaseMs).toISOString() }),
          ...values,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Hands the promotion back before the run stops on its time: the next run takes it at once. */
export async function releasePromotion(
  promotion: Pick<Promotion, 'id' | 'loyaltyProgramId'>,
  owner: string,
): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: promotionKey(promotion.loyaltyProgramId, promotion.id),
        UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Delivers the promotion to one member in one transaction: the once-record (MEMBER#<id> /
 * PROMOSENT#<promo>, with the number of messages), the day's counter within the cap, and a wallet message
 * to each of the member's cards (whose INSERTs wallet-sync pushes to their passes). All or nothing: a
 * crash before it leaves no message, after it the once-record makes a rerun of the page skip the member
 * (and count what the record says).
 */
export async function deliverPromotion(
  memberId: string,
  promotion: Pick<Promotion, 'id' | 'header' | 'body' | 'maxPerMemberPerDay'>,
  cardIds: readonly string[],
  actor: Actor,
  now: Date,
): Promise<{ kind: 'delivered'; messages: number } | { kind: 'capped' }> {
  for (let attempt = 0; attempt < DELIVERY_ATTEMPTS; attempt++) {
    const { items, messages } = deliveryItems(memberId, promotion, cardIds, actor, now);
    const outcome = await writeAtomically(items, { claim: undefined, result: undefined, now });
    if (outcome.kind === 'committed') {
      // Each card's latest message for its pass (no room in the transaction for 50 cards' items);
      // wallet-sync records them too before it pushes, should this process stop here.
      await Promise.all(messages.map((message) => noteLatestWalletMessage(message)));
      return { kind: 'delivered', messages: cardIds.length };
    }
    if (outcome.kind === 'cancelled' && outcome.reasons[0]?.code === 'ConditionalCheckFailed') {
      return { kind: 'delivered', messages: Number(outcome.reasons[0].item?.messages ?? 0) };
    }
    if (outcome.kind === 'cancelled' && outcome.reasons[1]?.code === 'ConditionalCheckFailed') {
      return { kind: 'capped' };
    }
    // Another promotion's delivery to this member was committing (the day counter): try again shortly.
    if (outcome.kind !== 'cancelled' || !outcome.reasons.some((r) => r.code === 'TransactionConflict')) break;
    await backoff(attempt);
  }
  throw new Error(`Promotion delivery to ${memberId} failed`);
}

/** The once-record, the day counter within the cap, a wallet message per card: one transaction. */
function deliveryItems(
  memberId: string,
  promotion: Pick<Promotion, 'id' | 'header' | 'body' | 'maxPerMemberPerDay'>,
  cardIds: readonly string[],
  actor: Actor,
  now: Date,
): { items: TransactItem[]; messages: WalletMessage[] } {
  const day = now.toISOString().slice(0, 10);
  const puts = cardIds.map((cardId) =>
    walletMessagePut({ cardId }, { header: promotion.header, body: promotion.body }, actor, now),
  );
  const items: TransactItem[] = [
    {
      Put: {
        TableName: tableName(),
        Item: {
          PK: memberPartition(memberId),
          SK: `PROMOSENT#${promotion.id}`,
          promotionId: promotion.id,
          messages: cardIds.length,
          at: now.toISOString(),
        },
        // Guarantees: a promotion reaches a member once, whatever runs or reruns its pages.
        ConditionExpression: 'attribute_not_exists(PK)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Update: {
        TableName: tableName(),
        Key: memberPromoDayKey(memberId, day),
        UpdateExpression: 'ADD received :one',
        // Guarantees: the frequency cap, whatever promotions run side by side.
        ConditionExpression: 'attribute_not_exists(received) OR received < :max',
        ExpressionAttributeValues: { ':one': 1, ':max': promotion.maxPerMemberPerDay },
      },
    },
    ...puts.map(({ put }) => ({ Put: put })),
  ];
  return { items, messages: puts.map(({ stored }) => stored) };
}
