import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { cardIdForCode } from '../core/card-code';
import type { Card } from '../core/card-model';
import { DomainError, notFound } from '../core/errors';
import { type EntryReturns, type Hold, NO_RETURNS } from '../core/hold';
import type { LedgerEntry } from '../core/ledger';
import { parseTransactionId } from '../core/ledger';
import { readItem } from './batched-reads';
import { toCard, toEntry, toHold } from './card-items';
import { tick } from './card-queue';
import { cardsByLast4, cardsByLast4InProgram } from './card-search';
import { db, tableName } from './dynamo-client';
import {
  cardKey,
  customerCardsIndexPk,
  entryKey,
  holdKey,
  merchantCardsIndexPk,
  programCardsIndexPk,
  returnsKey,
} from './keys';
import { listByIndex } from './listing';
import { decodeCursor, encodeCursor, type Page } from './pagination';
import { warmProgramCache } from './programs';
import { codePeppers } from './secrets';

/** Reads of cards, their entries and holds: consistent where a change is planned on them. */

export async function findCard(cardId: string): Promise<Card | undefined> {
  // Joins a batch of reads still open (a limited lookup's failed-check counts): one round trip.
  const item = await readItem(cardKey(cardId));
  return item && item.SK === 'CARD' ? toCard(item) : undefined;
}

/**
 * The card a (normalised) code names: its id derived with the current pepper first, then with each
 * older one, one read per pepper until a card is there. Usually one read; a rotation adds one read for
 * cards issued before it, and for codes that name no card.
 */
export async function findCardByCode(code: string): Promise<Card | undefined> {
  for (const pepper of (await codePeppers()).lookupOrder) {
    const card = await findCard(cardIdForCode(code, pepper.value));
    if (card) return card;
  }
  return undefined;
}

/**
 * A card read started the moment a request arrived, alongside its authentication, so a cold or quiet
 * instance waits for one round trip (key, merchant, card and program together) before it writes, not
 * three. Only requests API Gateway's authorizer already let through start one (functions/http/
 * api-handler.ts); nothing is shown or planned from it until the request is authenticated and the card
 * found visible to the caller. It was sent after the request arrived, so planning on it is as sound as
 * planning on a read made later (functions/store/card-queue.ts).
 */
export interface EarlyCardRead {
  readonly cardId: string;
  /** The request's arrival on this process's clock, and the read's sending just after it. */
  readonly arrivedAt: number;
  readonly sentAt: number;
  readonly card: Promise<Card | undefined>;
}

export function readCardEarly(cardId: string): EarlyCardRead {
  const arrivedAt = tick();
  const sentAt = tick();
  const card = findCard(cardId);
  // Its program is read as soon as the card names it, cached for the plan (shared if already in flight).
  card.then((found) => found && warmProgramCache([found.programId])).catch(() => undefined);
  return { cardId, arrivedAt, sentAt, card };
}

export async function findHold(cardId: string, holdId: string): Promise<Hold | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: holdKey(cardId, holdId), ConsistentRead: true }),
  );
  return out.Item ? toHold(out.Item) : undefined;
}

/** An entry of the card and what has been refunded or reversed against it, read consistently. */
export async function entryWithReturns(
  cardId: string,
  transactionId: string,
): Promise<{ entry: LedgerEntry; returns: EntryReturns }> {
  const parsed = parseTransactionId(transactionId);
  if (!parsed || parsed.cardId !== cardId) throw notFound('The transaction');
  const [entry, returns] = await Promise.all([
    db().send(
      new GetCommand({ TableName: tableName(), Key: entryKey(cardId, parsed.seq), ConsistentRead: true }),
    ),
    db().send(
      new GetCommand({ TableName: tableName(), Key: returnsKey(cardId, parsed.seq), ConsistentRead: true }),
    ),
  ]);
  if (!entry.Item) throw notFound('The transaction');
  const stored = returns.Item as { refunded?: number; reversed?: boolean; reversalId?: string } | undefined;
  const found: EntryReturns = stored
    ? {
        refunded: stored.refunded ?? 0,
        reversed: stored.reversed ?? false,
        ...(stored.reversalId ? { reversalId: stored.reversalId } : {}),
      }
    : NO_RETURNS;
  return { entry: toEntry(entry.Item), returns: found };
}

/** A ledger entry and its card, read side by side; who may see them is for the caller to say. */
export async function readEntryAndCard(
  transactionId: string,
): Promise<{ card?: Card; entry?: LedgerEntry } | undefined> {
  const parsed = parseTransactionId(transactionId);
  if (!parsed) return undefined;
  const [card, out] = await Promise.all([
    findCard(parsed.cardId),
    db().send(new GetCommand({ TableName: tableName(), Key: entryKey(parsed.cardId, parsed.seq) })),
  ]);
  return { ...(card ? { card } : {}), ...(out.Item ? { entry: toEntry(out.Item) } : {}) };
}

export interface CardFilter {
  readonly programId?: string;
  readonly customerId?: string;
  readonly merchantId?: string;
  readonly status?: string;
  readonly last4?: string;
}

/**
 * Staff card search: by program, customer or issuing merchant, narrowed by status and last 4; by last 4
 * alone (or within a program) through the last-4 keys of the program index (store/card-search.ts).
 */
export async function listCards(
  filter: CardFilter,
  limit: number,
  cursor: string | undefined,
  now: Date,
  displayStatus: (card: Card, now: Date) => string,
  programVisible: (programId: string) => boolean = () => true,
): Promise<Page<Card>> {
  const page = await cardsOf(filter, limit, cursor, programVisible);
  const items = page.items.filter(
    (card) =>
      (!filter.programId || card.programId === filter.programId) &&
      (!filter.merchantId || card.merchantId === filter.merchantId) &&
      (!filter.status || displayStatus(card, now) === filter.status) &&
      (!filter.last4 || card.last4 === filter.last4),
  );
  return { items, nextCursor: page.nextCursor };
}

function cardsOf(
  filter: CardFilter,
  limit: number,
  cursor: string | undefined,
  programVisible: (programId: string) => boolean,
): Promise<Page<Card>> {
  if (filter.customerId)
    return listByIndex('GSI2', customerCardsIndexPk(filter.customerId), { limit, cursor }, toCard);
  if (filter.merchantId)
    return listByIndex('GSI3', merchantCardsIndexPk(filter.merchantId), { limit, cursor }, toCard);
  if (filter.programId && filter.last4)
    return cardsByLast4InProgram(filter.programId, filter.last4, limit, cursor);
  if (filter.programId)
    return listByIndex('GSI1', programCardsIndexPk(filter.programId), { limit, cursor }, toCard);
  if (filter.last4) return cardsByLast4(filter.last4, limit, cursor, programVisible);
  throw new DomainError(
    'VALIDATION_FAILED',
    'Give programId, customerId, merchantId or last4 to list cards.',
    [{ field: 'programId', message: 'one of programId, customerId, merchantId, last4 is required' }],
  );
}

/**
 * A card's open holds, a page at a time (closed ones are filtered out: a page may be short, with a
 * cursor). The sweep's index (GSI1 HOLDS#OPEN#<shard>) is for expiry, not per card.
 */
export async function openHolds(
  cardId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Hold>> {
  const pk = cardKey(cardId).PK;
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :hold)',
      FilterExpression: '#status = :active',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pk': pk, ':hold': 'HOLD#', ':active': 'ACTIVE' },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, { PK: pk }),
    }),
  );
  return { items: (out.Items ?? []).map(toHold), nextCursor: encodeCursor(out.LastEvaluatedKey) };
}

/** The card's ledger, newest first. */
export async function cardHistory(
  cardId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<LedgerEntry>> {
  const pk = cardKey(cardId).PK;
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :tx)',
      ExpressionAttributeValues: { ':pk': pk, ':tx': 'TX#' },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, { PK: pk }),
    }),
  );
  return { items: (out.Items ?? []).map(toEntry), nextCursor: encodeCursor(out.LastEvaluatedKey) };
}

/** Every entry of a card, oldest first (for reconciliation and tests). */
export async function allEntries(cardId: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :tx)',
        ExpressionAttributeValues: { ':pk': cardKey(cardId).PK, ':tx': 'TX#' },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    entries.push(...(out.Items ?? []).map(toEntry));
    start = out.LastEvaluatedKey;
  } while (start);
  return entries;
}
