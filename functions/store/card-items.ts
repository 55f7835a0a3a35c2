import type { Card, CardChange, WriteGuard } from '../core/card-model';
import type { EntryReturns, Hold } from '../core/hold';
import type { LedgerEntry } from '../core/ledger';
import { isChained } from '../core/ledger-chain';
import { tableName } from './dynamo-client';
import {
  cardKey,
  customerCardsIndexPk,
  EXPIRY_SWEEP_SHARDS,
  entryKey,
  expiringCardsIndexPk,
  HOLD_SWEEP_SHARDS,
  holdKey,
  merchantCardsIndexPk,
  openHoldsIndexPk,
  programCardsIndexPk,
  programCardsIndexSk,
  returnsKey,
  shardOf,
  withoutLayout,
} from './keys';
import { pinWrite } from './pins';
import type { TransactItem } from './transact';

/** The card's items as the table stores them, and the conditions that protect them. */

export const toCard = (item: Record<string, unknown>): Card => withoutLayout<Card>(item);
export const toEntry = (item: Record<string, unknown>): LedgerEntry => withoutLayout<LedgerEntry>(item);
export const toHold = (item: Record<string, unknown>): Hold => withoutLayout<Hold>(item);

/** The expiry index keys a card should have: only cards with value to expire sit in the sweep's index. */
export function expiryIndexKeys(card: Pick<Card, 'id' | 'expiresAt' | 'balance'>) {
  return card.expiresAt && card.balance > 0
    ? {
        GSI4PK: expiringCardsIndexPk(shardOf(card.id, EXPIRY_SWEEP_SHARDS)),
        GSI4SK: `${card.expiresAt}#${card.id}`,
      }
    : undefined;
}

/**
 * The card item as the table stores it (bench/export.ts seeds with it). The index keys are computed from
 * the card every time and come after it, so a card read back (whose layout attributes are stripped)
 * never carries old keys into the item: emptying a card, or moving its expiry, moves it in the index.
 */
export function cardItem(card: Card) {
  return {
    ...card,
    ...cardKey(card.id),
    GSI1PK: programCardsIndexPk(card.programId),
    GSI1SK: programCardsIndexSk(card),
    ...(card.customerId ? { GSI2PK: customerCardsIndexPk(card.customerId), GSI2SK: card.id } : {}),
    ...(card.merchantId ? { GSI3PK: merchantCardsIndexPk(card.merchantId), GSI3SK: card.id } : {}),
    ...expiryIndexKeys(card),
  };
}

/**
 * Every ledger entry this table gets is chained (core/ledger-chain.ts): one whose hash is missing or does
 * not match its content is a bug in its writer, refused here before anything is sent.
 */
export function entryPut(entry: LedgerEntry): TransactItem {
  if (!isChained(entry))
    throw new Error(`Ledger entry ${entry.id} is not chained; plan it with core change()`);
  return {
    Put: {
      TableName: tableName(),
      Item: { ...entry, ...entryKey(entry.cardId, entry.seq) },
      // Guarantees: an entry number is written once; the ledger is append-only.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

function holdItem(hold: Hold) {
  const open = hold.status === 'ACTIVE';
  return {
    ...hold,
    ...holdKey(hold.cardId, hold.id),
    ...(open
      ? {
          GSI1PK: openHoldsIndexPk(shardOf(hold.id, HOLD_SWEEP_SHARDS)),
          GSI1SK: `${hold.expiresAt}#${hold.id}`,
        }
      : {}),
  };
}

function holdPut(hold: Hold, expect: 'NEW' | 'ACTIVE'): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: holdItem(hold),
      // Guarantees: a hold is placed once and ended (captured, voided, expired) once.
      ConditionExpression: expect === 'NEW' ? 'attribute_not_exists(PK)' : '#status = :active',
      ...(expect === 'ACTIVE'
        ? {
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':active': 'ACTIVE' },
          }
        : {}),
    },
  };
}

function returnsPut(cardId: string, seq: number, before: EntryReturns, after: EntryReturns): TransactItem {
  const fresh = before.refunded === 0 && !before.reversed;
  return {
    Put: {
      TableName: tableName(),
      Item: { ...returnsKey(cardId, seq), ...after },
      // Guarantees: refunds and a reversal of one entry never add up to more than it took.
      ConditionExpression: fresh
        ? 'attribute_not_exists(PK)'
        : 'refunded = :refunded AND reversed = :reversed',
      ...(fresh
        ? {}
        : { ExpressionAttributeValues: { ':refunded': before.refunded, ':reversed': before.reversed } }),
    },
  };
}

/** The conditions that carry the money rules: the write lands only on the card state it was planned on. */
function guardedCardPut(card: Card, guard: WriteGuard): TransactItem {
  const conditions = ['seq = :expectedSeq', 'currency = :currency'];
  const values: Record<string, unknown> = { ':expectedSeq': guard.expectedSeq, ':currency': guard.currency };
  const names: Record<string, string> = {};
  if (guard.status) {
    conditions.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = guard.status;
  }
  if (guard.notExpiredAt) {
    conditions.push('(attribute_not_exists(expiresAt) OR expiresAt > :now)');
    values[':now'] = guard.notExpiredAt;
  }
  if (guard.minAvailable !== undefined) {
    conditions.push('available >= :minAvailable');
    values[':minAvailable'] = guard.minAvailable;
  }
  if (guard.maxBalance !== undefined) {
    conditions.push('balance <= :maxBalance');
    values[':maxBalance'] = guard.maxBalance;
  }
  return {
    Put: {
      TableName: tableName(),
      Item: cardItem(card),
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeValues: values,
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** Every item one card change writes, in one transaction: the card first (its failure returns it). */
export function changeItems(change: CardChange): TransactItem[] {
  if (change.card.chainHash !== change.entry.hash || change.card.seq !== change.entry.seq) {
    throw new Error(`Card ${change.card.id} would not keep its chain head at entry ${change.entry.seq}`);
  }
  const items = [guardedCardPut(change.card, change.guard), entryPut(change.entry)];
  if (change.hold) items.push(holdPut(change.hold.next, change.hold.expect));
  if (change.pin) {
    const write = pinWrite(change.card.id, change.pin.next, change.pin.expectVersion);
    if (write) items.push(write);
  }
  if (change.returns)
    items.push(
      returnsPut(change.entry.cardId, change.returns.seq, change.returns.before, change.returns.after),
    );
  return items;
}

/** One card's share of a plan's write: the items, and the card as they leave it. */
export interface CardWrite {
  readonly card: Card;
  readonly items: TransactItem[];
}

/**
 * Every item of a plan's changes, one group per card, in the order the cards first appear. Changes to
 * one card planned one on another (a transfer out, then a deactivation) become one card write: its last
 * state under the first change's guard (the state the rest were planned on) with every entry in order.
 */
export function cardWrites(changes: readonly CardChange[]): CardWrite[] {
  const byCard = new Map<string, CardChange[]>();
  for (const change of changes) byCard.set(change.card.id, [...(byCard.get(change.card.id) ?? []), change]);
  return [...byCard.values()].map((successive) => {
    const [first, ...rest] = successive as [CardChange, ...CardChange[]];
    if (rest.length === 0) return { card: first.card, items: changeItems(first) };
    let before = first;
    for (const next of rest) {
      // Invariant: each change was planned on the card the one before it leaves.
      if (next.guard.expectedSeq !== before.card.seq || next.hold || next.pin || next.returns)
        throw new Error(`Successive changes to ${first.card.id} do not follow one another`);
      before = next;
    }
    return {
      card: before.card,
      items: [
        guardedCardPut(before.card, first.guard),
        ...successive.map((change) => entryPut(change.entry)),
      ],
    };
  });
}

/** A new card's item: written once (a code, and so a card id, is never issued twice). */
export function newCardPut(card: Card): TransactItem {
  if (card.seq > 0 && card.chainHash === undefined) throw new Error(`New card ${card.id} has no chain head`);
  return {
    Put: {
      TableName: tableName(),
      Item: cardItem(card),
      // Guarantees: a code (and so a card id) is never issued twice.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

/** A card id that must not exist: the new code under an older pepper would name another card. */
export function codeNotIssuedCheck(cardId: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: tableName(),
      Key: cardKey(cardId),
      // Guarantees: no card issued under an older pepper has this code.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}
