import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';

/**
 * How far the pushes of a program-wide wallet message got (layout in table-definition.ts):
 *
 *   PROGRAM#<programId> / WALLETPUSH#<messageId>   the next page of registered devices to push, or done; TTL
 *
 * Written after each page, so a retried record (a failure, or an invocation running out of time) resumes
 * at the page it stopped at instead of pushing every device of the program again; a replay of a message
 * whose pushes are done pushes nothing.
 */
const progressKey = (programId: string, messageId: string) => ({
  PK: `PROGRAM#${programId}`,
  SK: `WALLETPUSH#${messageId}`,
});
const PROGRESS_TTL_SECONDS = 3 * 24 * 60 * 60;

/** `undefined`: not started; `{ cursor: null }`: every page pushed. */
export async function findPushProgress(
  programId: string,
  messageId: string,
): Promise<{ readonly cursor: string | null } | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: progressKey(programId, messageId), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  return { cursor: typeof out.Item.cursor === 'string' ? out.Item.cursor : null };
}

export async function savePushProgress(
  programId: string,
  messageId: string,
  cursor: string | null,
  now: Date = new Date(),
): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...progressKey(programId, messageId),
        ...(cursor === null ? { done: true } : { cursor }),
        updatedAt: now.toISOString(),
        ttl: Math.floor(now.getTime() / 1000) + PROGRESS_TTL_SECONDS,
      },
    }),
  );
}
