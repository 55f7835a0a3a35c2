import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { db } from './dynamo-client';
import type { TransactItem } from './transact';

/** DynamoDB's bound on the actions of one transaction. */
export const MAX_TRANSACT_ITEMS = 100;

/**
 * Writes the items in one transaction, all or nothing; `refused` when a condition failed (the caller falls
 * back to writing the parts one by one, which tells which), `conflict` when only another transaction held
 * an item.
 */
export async function writeAllOrNothing(
  items: readonly TransactItem[],
): Promise<'committed' | 'conflict' | 'refused'> {
  if (items.length > MAX_TRANSACT_ITEMS)
    throw new Error(`A transaction takes at most ${MAX_TRANSACT_ITEMS} items`);
  try {
    await db().send(new TransactWriteCommand({ TransactItems: [...items] }));
    return 'committed';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    // Only other transactions in the way (no condition failed): the same write may go through if sent again.
    const refused = (error.CancellationReasons ?? []).some(
      (reason) => reason.Code === 'ConditionalCheckFailed',
    );
    return refused ? 'refused' : 'conflict';
  }
}
