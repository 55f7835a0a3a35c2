import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../core/errors';
import {
  type MemberSession,
  SIGN_IN_CODES_PER_WINDOW,
  SIGN_IN_MAX_ATTEMPTS,
  SIGN_IN_WINDOW_SECONDS,
  sessionAlive,
  sessionTokenHash,
} from '../core/member-session';
import { db, tableName } from './dynamo-client';
import {
  MEMBER_SESSION_PREFIX,
  memberPartition,
  memberSessionKey,
  memberSessionRefKey,
  signInCodeKey,
} from './keys';
import { writeAtomically } from './transact';

/**
 * Sign-in challenges and member sessions. A challenge (SIGNIN#<id>) holds the code's HMAC, its expiry
 * and the attempts left; a challenge for an unknown contact is written too (without a member), so the
 * answer never tells who is registered. A session is MSESSION#<sha256(token)>, with a reference under
 * the member (MEMBER#<id> / SESSION#<sessionId>) so all of a member's sessions can be revoked.
 */
export interface SignInChallenge {
  readonly challengeId: string;
  readonly loyaltyProgramId: string;
  readonly memberId?: string;
  readonly codeHash: string;
  readonly expiresAt: string;
}

const epochSeconds = (iso: string) => Math.ceil(Date.parse(iso) / 1000);

export async function putChallenge(challenge: SignInChallenge): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: signInCodeKey(challenge.challengeId),
      UpdateExpression:
        'SET loyaltyProgramId = :program, codeHash = :hash, expiresAt = :expires, attempts = :zero, #ttl = :ttl' +
        (challenge.memberId ? ', memberId = :member' : ''),
      ConditionExpression: 'attribute_not_exists(PK)',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':program': challenge.loyaltyProgramId,
        ':hash': challenge.codeHash,
        ':expires': challenge.expiresAt,
        ':zero': 0,
        ':ttl': epochSeconds(challenge.expiresAt) + 3600,
        ...(challenge.memberId ? { ':member': challenge.memberId } : {}),
      },
    }),
  );
}

/**
 * Counts one code request for a contact in its window: refused (RATE_LIMITED) past the window's limit.
 * Counted for unknown contacts alike, so the limit tells nothing either.
 */
export async function countCodeRequest(contactHash: string, window: number): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { PK: `SIGNINRATE#${contactHash}#${window}`, SK: 'SIGNINRATE' },
        UpdateExpression: 'ADD requests :one SET #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(requests) OR requests < :limit',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':limit': SIGN_IN_CODES_PER_WINDOW,
          ':ttl': (window + 2) * SIGN_IN_WINDOW_SECONDS,
        },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    throw new DomainError('RATE_LIMITED', 'Too many sign-in codes were asked for; wait a few minutes.');
  }
}

/**
 * Spends one attempt of the challenge and returns it, or undefined when it is unknown, expired or out
 * of attempts: the caller answers all of them alike. Conditional, so parallel guesses share the limit.
 */
export async function spendAttempt(challengeId: string, now: Date): Promise<SignInChallenge | undefined> {
  try {
    const out = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: signInCodeKey(challengeId),
        UpdateExpression: 'ADD attempts :one',
        ConditionExpression:
          'attribute_exists(PK) AND attempts < :max AND expiresAt > :now AND attribute_not_exists(usedAt)',
        ExpressionAttributeValues: { ':one': 1, ':max': SIGN_IN_MAX_ATTEMPTS, ':now': now.toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = out.Attributes ?? {};
    return {
      challengeId,
      loyaltyProgramId: String(item.loyaltyProgramId),
      ...(item.memberId ? { memberId: String(item.memberId) } : {}),
      codeHash: String(item.codeHash),
      expiresAt: String(item.expiresAt),
    };
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}

/** Primary course: the challenge used (once) and the session written, in one transaction. */
export async function openSession(
  challengeId: string,
  session: MemberSession,
  token: string,
  now: Date,
): Promise<boolean> {
  const tokenHash = sessionTokenHash(token);
  const ttl = epochSeconds(session.expiresAt) + 86_400;
  const outcome = await writeAtomically(
    [
      {
        Update: {
          TableName: tableName(),
          Key: signInCodeKey(challengeId),
          UpdateExpression: 'SET usedAt = :now',
          // Guarantees: a code opens one session.
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(usedAt)',
          ExpressionAttributeValues: { ':now': now.toISOString() },
        },
      },
      {
        Put: {
          TableName: tableName(),
          Item: { ...memberSessionKey(tokenHash), ...session, ttl },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        Put: {
          TableName: tableName(),
          Item: { ...memberSessionRefKey(session.memberId, session.sessionId), tokenHash, ...session, ttl },
        },
      },
    ],
    { claim: undefined, result: undefined, now },
  );
  return outcome.kind === 'committed';
}

export async function findSession(token: string, now: Date): Promise<MemberSession | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: memberSessionKey(sessionTokenHash(token)) }),
  );
  const item = out.Item as (MemberSession & { revokedAt?: string }) | undefined;
  if (!item || !sessionAlive(item, now)) return undefined;
  return {
    sessionId: item.sessionId,
    memberId: item.memberId,
    loyaltyProgramId: item.loyaltyProgramId,
    createdAt: item.createdAt,
    expiresAt: item.expiresAt,
  };
}

/** Revokes one session by its token hash (sign-out, revoke-all, deletion). */
export async function revokeSession(tokenHash: string, now: Date): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: memberSessionKey(tokenHash),
        UpdateExpression: 'SET revokedAt = :now',
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}

/** The member's sessions (their token hashes), for revoke-all and deletion. */
export async function memberSessionRefs(
  memberId: string,
): Promise<{ sessionId: string; tokenHash: string }[]> {
  const refs: { sessionId: string; tokenHash: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': memberPartition(memberId), ':prefix': MEMBER_SESSION_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? [])
      refs.push({ sessionId: String(item.sessionId), tokenHash: String(item.tokenHash) });
    start = out.LastEvaluatedKey;
  } while (start && refs.length < 1000);
  return refs;
}
