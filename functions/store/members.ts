import { BatchWriteCommand, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError, notFound } from '../core/errors';
import { newId } from '../core/ids';
import { type ContactChannel, contactHash, type Member, type MemberConsent } from '../core/member';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import {
  loyaltyMembersIndexPk,
  MEMBER_CARD_PREFIX,
  MEMBER_SESSION_PREFIX,
  memberContactKey,
  memberKey,
  memberPartition,
  withoutLayout,
} from './keys';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { sealingPepper } from './secrets';
import { keyInProgress, type TransactItem, writeAtomically } from './transact';

/**
 * Loyalty members: the member item (MEMBER#<id> / MEMBER, listed per program on GSI1) and its contact
 * item (MEMBERCONTACT#<program>#<hmac>), written together so a contact registers once per program.
 */
export interface NewMember {
  readonly loyaltyProgramId: string;
  readonly channel: ContactChannel;
  readonly contact: string;
  readonly consent: MemberConsent;
  readonly tier: string;
}

export async function contactKeyOf(loyaltyProgramId: string, channel: ContactChannel, contact: string) {
  return memberContactKey(
    loyaltyProgramId,
    contactHash(await sealingPepper(), loyaltyProgramId, channel, contact),
  );
}

/** Primary course: the member and its contact in one transaction; a contact already registered: CONFLICT. */
export async function createMember(
  input: NewMember,
  claim: IdempotencyClaim | undefined,
  now: Date,
): Promise<Member> {
  const at = now.toISOString();
  const member: Member = {
    id: newId('mem', now),
    status: 'ACTIVE',
    ...input,
    tierEarnedPoints: 0,
    createdAt: at,
    updatedAt: at,
  };
  const contactKey = await contactKeyOf(input.loyaltyProgramId, input.channel, input.contact);
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            ...memberKey(member.id),
            GSI1PK: loyaltyMembersIndexPk(member.loyaltyProgramId),
            GSI1SK: member.id,
            ...member,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        Put: {
          TableName: tableName(),
          Item: { ...contactKey, memberId: member.id, createdAt: at },
          // Guarantees: one member per contact and program.
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
    ],
    { claim, result: member, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') {
    throw new DomainError('CONFLICT', 'This contact is already registered; sign in instead.');
  }
  return member;
}

export async function findMember(memberId: string): Promise<Member | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: memberKey(memberId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<Member>(out.Item) : undefined;
}

export async function getMember(memberId: string): Promise<Member> {
  const member = await findMember(memberId);
  if (member?.status !== 'ACTIVE') throw notFound('The member');
  return member;
}

export async function findMemberIdByContact(
  loyaltyProgramId: string,
  channel: ContactChannel,
  contact: string,
): Promise<string | undefined> {
  const out = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: await contactKeyOf(loyaltyProgramId, channel, contact),
      ConsistentRead: true,
    }),
  );
  return out.Item ? String(out.Item.memberId) : undefined;
}

/** The member's tier as last computed; only moves forward in time (a late recompute never overwrites a newer one). */
export async function setMemberTier(
  memberId: string,
  tier: string,
  earnedPoints: number,
  at: Date,
): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: memberKey(memberId),
        UpdateExpression: 'SET tier = :tier, tierEarnedPoints = :earned, tierAt = :at',
        ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(tierAt) OR tierAt <= :at)',
        ExpressionAttributeValues: { ':tier': tier, ':earned': earnedPoints, ':at': at.toISOString() },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}

export function listMembers(
  loyaltyProgramId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Member>> {
  return listByIndex(
    'GSI1',
    loyaltyMembersIndexPk(loyaltyProgramId),
    { limit, ...(cursor ? { cursor } : {}), newestFirst: false },
    (item) => withoutLayout<Member>(item),
  );
}

/** The keys of the member's own records besides the ledger (linked cards, sessions): what deletion removes. */
export async function memberSideKeys(memberId: string): Promise<{ PK: string; SK: string }[]> {
  const keys: { PK: string; SK: string }[] = [];
  for (const prefix of [MEMBER_CARD_PREFIX, MEMBER_SESSION_PREFIX]) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await db().send(
        new QueryCommand({
          TableName: tableName(),
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          ExpressionAttributeValues: { ':pk': memberPartition(memberId), ':prefix': prefix },
          ProjectionExpression: 'PK, SK',
          ExclusiveStartKey: start,
        }),
      );
      keys.push(...(out.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) })));
      start = out.LastEvaluatedKey;
    } while (start && keys.length < 1000);
  }
  return keys;
}

/**
 * Pseudonymises the member: contact and consent removed, the contact item deleted (the address may
 * register again as a new member), status DELETED. The points ledger and its account stay, under the id.
 */
export function pseudonymiseItems(
  member: Member,
  now: Date,
  contactKey: { PK: string; SK: string },
): TransactItem[] {
  return [
    {
      Update: {
        TableName: tableName(),
        Key: memberKey(member.id),
        UpdateExpression: 'SET #status = :deleted, deletedAt = :at, updatedAt = :at REMOVE contact, consent',
        ConditionExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':deleted': 'DELETED', ':active': 'ACTIVE', ':at': now.toISOString() },
      },
    },
    { Delete: { TableName: tableName(), Key: contactKey } },
  ];
}

/** Deletes the member's side records (after deletion has revoked and unlinked them), 25 a batch. */
export async function deleteMemberSideItems(keys: readonly { PK: string; SK: string }[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 25) {
    const chunk = keys.slice(start, start + 25);
    let requests: Record<string, unknown>[] | undefined = chunk.map((key) => ({
      DeleteRequest: { Key: key },
    }));
    for (let attempt = 0; requests && requests.length > 0 && attempt < 5; attempt++) {
      const out = await db().send(new BatchWriteCommand({ RequestItems: { [tableName()]: requests } }));
      requests = out.UnprocessedItems?.[tableName()] as Record<string, unknown>[] | undefined;
    }
  }
}
