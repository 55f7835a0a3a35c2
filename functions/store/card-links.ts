import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../core/errors';
import { db, tableName } from './dynamo-client';
import { cardLinkKey, MEMBER_CARD_PREFIX, memberCardKey, memberKey, memberPartition } from './keys';
import { writeAtomically } from './transact';

/**
 * Gift cards linked to loyalty members: CARDLINK#<card> names the one member a card earns for (the
 * stream consumer reads it for each entry), MEMBER#<id> / LINKEDCARD#<card> lists a member's cards.
 */
export interface CardLink {
  readonly cardId: string;
  readonly memberId: string;
  readonly loyaltyProgramId: string;
  readonly last4: string;
  readonly linkedAt: string;
}

/** A member links at most this many cards. */
export const MAX_LINKED_CARDS = 50;

/** Primary course: both items in one transaction, on an active member; linking again is a no-op. */
export async function linkCard(link: CardLink): Promise<CardLink> {
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: { ...cardLinkKey(link.cardId), ...link },
          // Guarantees: a card earns for one member at a time.
          ConditionExpression: 'attribute_not_exists(PK) OR memberId = :memberId',
          ExpressionAttributeValues: { ':memberId': link.memberId },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      { Put: { TableName: tableName(), Item: { ...memberCardKey(link.memberId, link.cardId), ...link } } },
      {
        ConditionCheck: {
          TableName: tableName(),
          Key: memberKey(link.memberId),
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':active': 'ACTIVE' },
        },
      },
    ],
    { claim: undefined, result: link, now: new Date() },
  );
  if (outcome.kind === 'cancelled') {
    if (outcome.reasons[0]?.code === 'ConditionalCheckFailed') {
      throw new DomainError('CONFLICT', 'This card is linked to another member.');
    }
    if (outcome.reasons[2]?.code === 'ConditionalCheckFailed')
      throw new DomainError('NOT_FOUND', 'The member was not found.');
    throw new DomainError('CONFLICT', 'The card is busy; retry the request.');
  }
  return link;
}

/** Both items go, only while the card is still the member's. */
export async function unlinkCard(memberId: string, cardId: string): Promise<boolean> {
  const outcome = await writeAtomically(
    [
      {
        Delete: {
          TableName: tableName(),
          Key: cardLinkKey(cardId),
          ConditionExpression: 'memberId = :memberId',
          ExpressionAttributeValues: { ':memberId': memberId },
        },
      },
      { Delete: { TableName: tableName(), Key: memberCardKey(memberId, cardId) } },
    ],
    { claim: undefined, result: undefined, now: new Date() },
  );
  return outcome.kind === 'committed';
}

export async function findCardLink(cardId: string): Promise<CardLink | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: cardLinkKey(cardId), ConsistentRead: true }),
  );
  return out.Item ? toLink(out.Item) : undefined;
}

export async function linkedCards(memberId: string): Promise<CardLink[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': memberPartition(memberId), ':prefix': MEMBER_CARD_PREFIX },
      ConsistentRead: true,
      Limit: MAX_LINKED_CARDS,
    }),
  );
  return (out.Items ?? []).map(toLink);
}

const toLink = (item: Record<string, unknown>): CardLink => ({
  cardId: String(item.cardId),
  memberId: String(item.memberId),
  loyaltyProgramId: String(item.loyaltyProgramId),
  last4: String(item.last4),
  linkedAt: String(item.linkedAt),
});
