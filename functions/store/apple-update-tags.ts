import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DeviceRegistrationTag } from '../core/apple-pass';
import { db, tableName } from './dynamo-client';

/**
 * The update tags of Apple's update list (layout in table-definition.ts):
 *
 *   APPLEDEVICE#<dlid> / TAG            the device's counter: the last tag handed to a change
 *   APPLEDEVICE#<dlid> / CARD#<cardId>  the registration (store/apple-passes.ts), with `updateTag`
 *
 * A change of a pass raises the counter of each device registered for it and writes the new value on
 * the registration, in one transaction conditioned on the counter's previous value. The update list
 * reads the counter first, then the registrations: every change whose transaction committed before that
 * read has a tag at most the counter's, and every later one a greater tag, so a change committed after
 * a tag was handed out is listed for it. No clock is involved.
 *
 * A new registration takes a tag too, in the transaction that writes it: the pass the device registers
 * was downloaded some time before (a file the holder may add minutes or days later), and a change made
 * in between was tagged and pushed for no device. Listed for the device's earlier tag, the pass is then
 * fetched with its If-Modified-Since: 304 when nothing changed, the newer pass when something did.
 */
const counterKey = (dlid: string) => ({ PK: `APPLEDEVICE#${dlid}`, SK: 'TAG' });
const registrationKey = (dlid: string, cardId: string) => ({
  PK: `APPLEDEVICE#${dlid}`,
  SK: `CARD#${cardId}`,
});
/**
 * Attempts at raising one device's counter. The changes of one device race for it when a program message
 * reaches many of its passes at once, or a phone restoring its passes registers them all in parallel: each
 * round one wins, and the others wait a random pause that doubles (up to 200 ms) before reading it again.
 */
export const MAX_COUNTER_ATTEMPTS = 30;

export const counterContentionPause = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));

export async function readCounter(dlid: string): Promise<number> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: counterKey(dlid), ConsistentRead: true }),
  );
  return Number(out.Item?.tag ?? 0);
}

/**
 * The write that raises a device's counter from `tag` to `tag + 1`, for a transaction that also puts
 * `tag + 1` on a registration (here, and in a new registration: store/apple-passes.ts). Cancelled when
 * another change took the counter first: re-read it and try again.
 */
export function raiseCounter(dlid: string, tag: number) {
  return {
    Put: {
      TableName: tableName(),
      Item: { ...counterKey(dlid), tag: tag + 1 },
      // Guarantees: each tag is handed to one change, in the order the counter moves.
      ConditionExpression: tag === 0 ? 'attribute_not_exists(PK) OR tag = :tag' : 'tag = :tag',
      ExpressionAttributeValues: { ':tag': tag },
    },
  };
}

/**
 * Marks the card's pass changed on one device: its new tag, or `unregistered` when the device dropped
 * the pass meanwhile (nothing written).
 */
export async function markPassChangedOnDevice(
  cardId: string,
  dlid: string,
): Promise<number | 'unregistered'> {
  for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt++) {
    if (attempt > 0) await counterContentionPause(attempt);
    const tag = await readCounter(dlid);
    const next = tag + 1;
    try {
      await db().send(
        new TransactWriteCommand({
          TransactItems: [
            raiseCounter(dlid, tag),
            {
              Update: {
                TableName: tableName(),
                Key: registrationKey(dlid, cardId),
                UpdateExpression: 'SET updateTag = :next',
                // Guarantees: an unregistered pass is not brought back.
                ConditionExpression: 'attribute_exists(PK)',
                ExpressionAttributeValues: { ':next': next },
              },
            },
          ],
        }),
      );
      return next;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [counter, registration] = error.CancellationReasons ?? [];
      if (registration?.Code === 'ConditionalCheckFailed') return 'unregistered';
      const contended = counter?.Code === 'ConditionalCheckFailed' || counter?.Code === 'TransactionConflict';
      if (!contended && registration?.Code !== 'TransactionConflict') throw error;
    }
  }
  throw new Error('the update tag of an Apple device stayed contended');
}

/** The device's counter and its registrations of this pass type with their tags, read consistently. */
export async function deviceUpdateTags(
  dlid: string,
  passTypeIdentifier: string,
): Promise<{ counter: number; registrations: DeviceRegistrationTag[] }> {
  // The counter first: see the module comment.
  const counter = await readCounter(dlid);
  const registrations: DeviceRegistrationTag[] = [];
  let start: Record<string, unknown> | undefined;
  let pages = 0;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :card)',
        ExpressionAttributeValues: { ':pk': `APPLEDEVICE#${dlid}`, ':card': 'CARD#' },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      if (item.passTypeIdentifier !== passTypeIdentifier) continue;
      registrations.push({ serialNumber: String(item.cardId), updateTag: Number(item.updateTag ?? 0) });
    }
    start = out.LastEvaluatedKey;
    pages += 1;
  } while (start && pages < 100);
  return { counter, registrations };
}
