import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { notFound } from '../core/errors';
import { newId } from '../core/ids';
import type { Reward } from '../core/reward';
import { db, tableName } from './dynamo-client';
import { loyaltyProgramKey, REWARD_PREFIX, rewardKey, withoutLayout } from './keys';

/** A program's reward catalogue: items beside the program (LOYALTY#<id> / REWARD#<rewardId>). */
export const MAX_REWARDS = 200;

export async function createReward(input: Omit<Reward, 'id' | 'createdAt'>, now: Date): Promise<Reward> {
  const reward: Reward = { id: newId('rwd', now), ...input, createdAt: now.toISOString() };
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...rewardKey(reward.loyaltyProgramId, reward.id), ...reward },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  return reward;
}

export async function getReward(loyaltyProgramId: string, rewardId: string): Promise<Reward> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: rewardKey(loyaltyProgramId, rewardId) }),
  );
  if (!out.Item) throw notFound('The reward');
  return withoutLayout<Reward>(out.Item);
}

export async function listRewards(loyaltyProgramId: string): Promise<Reward[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': loyaltyProgramKey(loyaltyProgramId).PK, ':prefix': REWARD_PREFIX },
      Limit: MAX_REWARDS,
    }),
  );
  return (out.Items ?? []).map((item) => withoutLayout<Reward>(item));
}
