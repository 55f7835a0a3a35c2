import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { notFound } from '../core/errors';
import type { Promotion, PromotionCounts } from '../core/promotion';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { memberPartition, memberPromoDayKey, promotionKey, withoutLayout } from './keys';
import { keyInProgress, writeAtomically } from './transact';

/** Promotions (LOYALTY#<id> / PROMO#<id>) and the per-member records that cap and dedupe their delivery. */
export async function createPromotion(promotion: Promotion, claim: IdempotencyClaim | undefined, now: Date) {
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: { ...promotionKey(promotion.loyaltyProgramId, promotion.id), ...promotion },
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

export async function finishPromotion(
  promotion: Promotion,
  counts: PromotionCounts,
  now: Date,
): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...promotionKey(promotion.loyaltyProgramId, promotion.id),
        ...promotion,
        status: 'SENT',
        counts,
        sentAt: now.toISOString(),
      },
    }),
  );
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
  return withoutLayout<Promotion>(out.Item);
}

/**
 * Claims the member's delivery of the promotion: once per promotion (a retried send skips them) and
 * within the day's cap, both in one transaction. 'sent': this promotion reached them before.
 */
export async function claimDelivery(
  memberId: string,
  promotionId: string,
  day: string,
  maxPerDay: number,
  now: Date,
): Promise<'claimed' | 'capped' | 'sent'> {
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            PK: memberPartition(memberId),
            SK: `PROMOSENT#${promotionId}`,
            promotionId,
            at: now.toISOString(),
          },
          // Guarantees: a promotion reaches a member once.
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        Update: {
          TableName: tableName(),
          Key: memberPromoDayKey(memberId, day),
          UpdateExpression: 'ADD received :one',
          // Guarantees: the frequency cap, whatever promotions run side by side.
          ConditionExpression: 'attribute_not_exists(received) OR received < :max',
          ExpressionAttributeValues: { ':one': 1, ':max': maxPerDay },
        },
      },
    ],
    { claim: undefined, result: undefined, now },
  );
  if (outcome.kind === 'committed') return 'claimed';
  if (outcome.kind === 'cancelled' && outcome.reasons[0]?.code === 'ConditionalCheckFailed') return 'sent';
  if (outcome.kind === 'cancelled' && outcome.reasons[1]?.code === 'ConditionalCheckFailed') return 'capped';
  throw new Error(`Promotion delivery claim for ${memberId} failed`);
}

export async function countPromotion(promotion: Promotion, counts: PromotionCounts): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: promotionKey(promotion.loyaltyProgramId, promotion.id),
      UpdateExpression: 'SET counts = :counts',
      ExpressionAttributeValues: { ':counts': counts },
    }),
  );
}
