import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../core/errors';
import { decoyPinCheck, PIN_MAX_FAILURES, type PinRecord, pinMatches } from '../core/pin';
import { db, tableName } from './dynamo-client';
import { pinKey, withoutLayout } from './keys';
import type { TransactItem } from './transact';

export async function findPin(cardId: string): Promise<PinRecord | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: pinKey(cardId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<PinRecord>(out.Item) : undefined;
}

/** The PIN item written with a PIN_SET / PIN_RESET entry, guarded by the version that was read. */
export function pinWrite(
  cardId: string,
  next: PinRecord | null,
  expectVersion: number | null,
): TransactItem | undefined {
  const guard =
    expectVersion === null
      ? { ConditionExpression: 'attribute_not_exists(PK)' }
      : {
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':version': expectVersion },
        };
  if (next) return { Put: { TableName: tableName(), Item: { ...pinKey(cardId), ...next }, ...guard } };
  if (expectVersion === null) return undefined;
  return { Delete: { TableName: tableName(), Key: pinKey(cardId), ...guard } };
}

export type PinCheck = 'OK' | 'INVALID' | 'LOCKED' | 'NOT_SET';

/**
 * Checks a PIN against the card's. Primary course: spend one attempt first (an increment that only
 * succeeds below the limit, so parallel guesses can never exceed it; the same write returns the PIN it
 * counted against), compare in constant time, and give the attempts back when the PIN is right.
 *
 * Every outcome costs the same: one conditional write and one scrypt (a locked card and a card without
 * a PIN run a decoy hash), so how long a check takes does not tell a locked PIN from a wrong one.
 */
export async function checkPin(cardId: string, pin: string): Promise<PinCheck> {
  let record: PinRecord;
  try {
    const out = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: pinKey(cardId),
        UpdateExpression: 'ADD failures :one',
        // Guarantees: at most PIN_MAX_FAILURES checks between two right answers, however many run at once.
        ConditionExpression: 'attribute_exists(PK) AND failures < :max',
        ExpressionAttributeValues: { ':one': 1, ':max': PIN_MAX_FAILURES },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    record = withoutLayout<PinRecord>(out.Attributes ?? {});
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    decoyPinCheck(pin);
    return error.Item ? 'LOCKED' : 'NOT_SET';
  }
  // The count after this attempt decides: the attempt that used the last one locks, even in a crowd.
  if (!pinMatches(pin, record)) return record.failures >= PIN_MAX_FAILURES ? 'LOCKED' : 'INVALID';
  await db()
    .send(
      new UpdateCommand({
        TableName: tableName(),
        Key: pinKey(cardId),
        UpdateExpression: 'SET failures = :zero',
        // Only the PIN that was right: a PIN set or reset in between keeps its own count.
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':zero': 0, ':version': record.version },
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  return 'OK';
}

/**
 * What a PIN check costs when there is no card to check: the same conditional write and the same
 * scrypt. For answers that must not be faster when the code names no card the caller may see
 * (app/card-lookup.ts lookupCard). The write goes to a random key that holds nothing, never to the PIN of
 * a card that exists (another tenant's card must not lose attempts), and spreads over partitions.
 */
export async function decoyCheckPin(pin: string): Promise<void> {
  await db()
    .send(
      new UpdateCommand({
        TableName: tableName(),
        Key: pinKey(`gc_decoy${randomBytes(12).toString('hex')}`),
        UpdateExpression: 'ADD failures :one',
        // Never true for a card that does not exist: this writes nothing.
        ConditionExpression: 'attribute_exists(PK) AND failures < :max',
        ExpressionAttributeValues: { ':one': 1, ':max': PIN_MAX_FAILURES },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  decoyPinCheck(pin);
}

/** The refusal for a PIN check that did not pass, as staff see it. */
export function pinRefusal(result: Exclude<PinCheck, 'OK'>): DomainError {
  switch (result) {
    case 'LOCKED':
      return new DomainError('PIN_LOCKED', 'Too many wrong PINs: the PIN is locked until support resets it.');
    case 'NOT_SET':
      return new DomainError(
        'PIN_REQUIRED',
        'This program requires a PIN and the card has none yet: set one first.',
      );
    case 'INVALID':
      return new DomainError('PIN_INVALID', 'The PIN is not right.');
  }
}
