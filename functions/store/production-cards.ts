import type { Card } from '../core/card';
import type { LedgerEntry } from '../core/ledger';
import type { PinRecord } from '../core/pin';
import { codeNotIssuedCheck, entryPut, newCardPut } from './card-items';
import { tableName } from './dynamo-client';
import { ISSUE_COUNT_SHARDS, shardShare } from './issued-cards';
import { issuedCountKey, pinKey } from './keys';
import { type TransactItem, writeAtomically } from './transact';

/** A new production card as it is written: the card, its ISSUE entry and, with PINs, its PIN record. */
export interface ProducedCard {
  readonly card: Card;
  readonly entries: readonly LedgerEntry[];
  readonly pin?: PinRecord;
  /** The code's card ids under the older peppers: no card may have them (the code is another card's). */
  readonly olderIds?: readonly string[];
}

/**
 * Items of one card batch's transaction, the issue count included (DynamoDB allows 100). 25 commits
 * fastest in DynamoDB Local with a few batches in flight (bench/production-order.ts): its transactions
 * grow slower per item past a few dozen; in DynamoDB the size makes little difference.
 */
const MAX_TRANSACTION_ITEMS = 25;

export type BatchOutcome = 'COMMITTED' | 'CODE_TAKEN' | 'SHARD_FULL' | 'CONFLICT';

/** How many cards one transaction commits (each needs its items, plus one count update for all). */
export const cardsPerTransaction = (itemsPerCard: number): number =>
  Math.max(1, Math.floor((MAX_TRANSACTION_ITEMS - 1) / itemsPerCard));

function itemsOf(produced: ProducedCard): TransactItem[] {
  const items = [
    newCardPut(produced.card),
    ...(produced.olderIds ?? []).map(codeNotIssuedCheck),
    ...produced.entries.map(entryPut),
  ];
  if (produced.pin) {
    items.push({
      Put: {
        TableName: tableName(),
        Item: { ...pinKey(produced.card.id), ...produced.pin },
        // Guarantees: a new card's PIN is written once, with the card.
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    });
  }
  return items;
}

/**
 * Commits a batch of new cards in one transaction with their count in one issue shard: every card or
 * none. A code already taken (its card id exists) or a full shard cancels the batch, and says which.
 */
export async function commitCardBatch(
  batch: readonly ProducedCard[],
  programId: string,
  maxCards: number,
  shard: number,
  now: Date,
): Promise<BatchOutcome> {
  if (shard < 0 || shard >= ISSUE_COUNT_SHARDS) throw new Error(`Invariant: shard ${shard} exists`);
  const cardItems = batch.flatMap(itemsOf);
  const share = shardShare(maxCards, shard);
  const count: TransactItem = {
    Update: {
      TableName: tableName(),
      Key: issuedCountKey(programId, shard),
      UpdateExpression: 'ADD issued :n',
      // Guarantees: the shards together never count more than maxCards issued cards.
      ConditionExpression: '(attribute_not_exists(issued) AND :n <= :share) OR issued <= :room',
      ExpressionAttributeValues: { ':n': batch.length, ':share': share, ':room': share - batch.length },
    },
  };
  if (cardItems.length + 1 > MAX_TRANSACTION_ITEMS)
    throw new Error('Invariant: a card batch fits a transaction');
  const outcome = await writeAtomically([...cardItems, count], { claim: undefined, result: null, now });
  if (outcome.kind === 'committed') return 'COMMITTED';
  if (outcome.kind !== 'cancelled') return 'CONFLICT';
  const failed = outcome.reasons.map((reason) => reason.code === 'ConditionalCheckFailed');
  if (failed[cardItems.length]) return 'SHARD_FULL';
  return failed.some(Boolean) ? 'CODE_TAKEN' : 'CONFLICT';
}
