import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CARD_WRITE_BUDGET_MS } from '../config';
import type { Card, CardChange, CardOperation, IssueInput, OperationContext, WriteGuard } from '../core/card';
import { planIssue, planOperation, planTransfer } from '../core/card';
import { cardIdForCode, generateCode, isPlausibleCode, last4, normalizeCode } from '../core/card-code';
import { DomainError, notFound } from '../core/errors';
import { type EntryReturns, type Hold, NO_RETURNS } from '../core/hold';
import { newId } from '../core/ids';
import type { Channel, LedgerEntry } from '../core/ledger';
import { parseTransactionId } from '../core/ledger';
import type { Program } from '../core/program';
import { readItem } from './batched-reads';
import { cardSeenSince, noteCard, oneAtATime, tick } from './card-queue';
import { db, tableName } from './dynamo-client';
import { findReplay, type IdempotencyClaim } from './idempotency';
import { countIssuedCard, IssueShards } from './issued-cards';
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
  returnsKey,
  shardOf,
  withoutLayout,
} from './keys';
import { listByIndex } from './listing';
import { decodeCursor, encodeCursor, type Page } from './pagination';
import { checkPin, decoyCheckPin, findPin, pinRefusal, pinRequired, pinWrite, requirePin } from './pins';
import { getProgram, warmProgramCache } from './programs';
import { codePeppers } from './secrets';
import { backoff, keyInProgress, type TransactItem, writeAtomically } from './transact';

/** Who is asking decides which cards exist for them: a card they may not see is NOT_FOUND. */
export type CardVisibility = (card: Card) => boolean;

export interface CardResult {
  readonly transaction: LedgerEntry;
  readonly card: Card;
  readonly hold?: Hold;
}

export interface IssuedCard {
  readonly card: Card;
  readonly code: string;
  readonly transactions: LedgerEntry[];
}

/** How long a change keeps trying on a busy card before answering CONFLICT (functions/config.ts). */
const WRITE_BUDGET_MS = CARD_WRITE_BUDGET_MS;
const MAX_CODE_ATTEMPTS = 5;

const toCard = (item: Record<string, unknown>): Card => withoutLayout<Card>(item);
const toEntry = (item: Record<string, unknown>): LedgerEntry => withoutLayout<LedgerEntry>(item);

/** The card item as the table stores it (bench/export.ts seeds with it). */
export function cardItem(card: Card) {
  return {
    ...cardKey(card.id),
    GSI1PK: programCardsIndexPk(card.programId),
    GSI1SK: card.id,
    ...(card.customerId ? { GSI2PK: customerCardsIndexPk(card.customerId), GSI2SK: card.id } : {}),
    ...(card.merchantId ? { GSI3PK: merchantCardsIndexPk(card.merchantId), GSI3SK: card.id } : {}),
    // Only cards with value to expire sit in the sweep's index; emptying a card takes it out.
    ...(card.expiresAt && card.balance > 0
      ? {
          GSI4PK: expiringCardsIndexPk(shardOf(card.id, EXPIRY_SWEEP_SHARDS)),
          GSI4SK: `${card.expiresAt}#${card.id}`,
        }
      : {}),
    ...card,
  };
}

function entryPut(entry: LedgerEntry): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: { ...entryKey(entry.cardId, entry.seq), ...entry },
      // Guarantees: an entry number is written once; the ledger is append-only.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

function holdItem(hold: Hold) {
  const open = hold.status === 'ACTIVE';
  return {
    ...holdKey(hold.cardId, hold.id),
    ...(open
      ? {
          GSI1PK: openHoldsIndexPk(shardOf(hold.id, HOLD_SWEEP_SHARDS)),
          GSI1SK: `${hold.expiresAt}#${hold.id}`,
        }
      : {}),
    ...hold,
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

export async function findHold(cardId: string, holdId: string): Promise<Hold | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: holdKey(cardId, holdId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<Hold>(out.Item) : undefined;
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

/** `read`: the same read when it was started ahead (the API's `early`). */
export async function getCard(
  cardId: string,
  visible: CardVisibility,
  read: Promise<Card | undefined> = findCard(cardId),
): Promise<Card> {
  const card = await read;
  if (!card || !visible(card)) throw notFound('The card');
  return card;
}

/**
 * Balance inquiry by code. Any code that is not a visible card, well-formed or not, is NOT_FOUND. When the
 * program requires a PIN, a merchant gets NOT_FOUND for a wrong or locked PIN too, after the same work
 * (a decoy check when there is no PIN to check), so a lookup cannot tell which of them it hit.
 */
export async function lookupCard(
  rawCode: string,
  visible: CardVisibility,
  options: { readonly pin?: string; readonly channel?: Channel; readonly revealPinErrors?: boolean } = {},
): Promise<Card> {
  const code = normalizeCode(rawCode);
  const card = isPlausibleCode(code) ? await findCardByCode(code) : undefined;
  if (!card || !visible(card)) {
    // The same conditional write and scrypt a PIN check of a real card costs (to a key that holds nothing).
    if (options.pin !== undefined) await decoyCheckPin(options.pin);
    throw notFound('The card');
  }
  const program = await getProgram(card.programId, { cached: true });
  if (!pinRequired(program, options.channel) && options.pin === undefined) return card;
  if (options.pin === undefined) {
    if (options.revealPinErrors)
      throw new DomainError('PIN_REQUIRED', 'This card needs its PIN for a balance inquiry.');
    throw notFound('The card');
  }
  const result = await checkPin(card.id, options.pin);
  if (result === 'OK') return card;
  if (options.revealPinErrors) throw pinRefusal(result);
  throw notFound('The card');
}

/**
 * Primary course: draw a fresh code, derive the card id from it with the current pepper, and write the
 * card with its first ledger entries in one transaction, which also counts the card against the
 * program's maxCards and checks that no card has the code under an older pepper. A code that is already
 * taken fails the transaction and another is drawn; a full count shard sends the card to another shard;
 * when every shard is full the program has issued all the cards it may (LIMIT_EXCEEDED).
 */
export async function issueCard(
  programId: string,
  input: Omit<IssueInput, 'cardId' | 'last4' | 'pepperId'>,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  programVisible: (program: Program) => boolean,
): Promise<IssuedCard> {
  const program = await getProgram(programId, { cached: true }).catch((error: unknown) => {
    throw error instanceof DomainError ? notFound('The program') : error;
  });
  if (!programVisible(program)) throw notFound('The program');
  const peppers = await codePeppers();
  const shards = new IssueShards(program.id, program.maxCards);
  const deadline = Date.now() + WRITE_BUDGET_MS;
  let collisions = 0;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const shard = shards.pick();
    if (shard === undefined) break;
    const code = generateCode(program.codeFormat);
    const cardId = cardIdForCode(code, peppers.current.value);
    let planned: { card: Card; entries: LedgerEntry[] };
    try {
      planned = planIssue(
        program,
        { ...input, cardId, last4: last4(code), pepperId: peppers.current.id },
        context,
      );
    } catch (error) {
      const earlier = claim ? await findReplay<IssuedCard>(claim, context.now) : undefined;
      if (earlier) return earlier;
      throw error;
    }
    // The same code under an older pepper is another card's: the new one must not shadow it.
    const olderIds = [
      ...new Set(peppers.lookupOrder.slice(1).map((pepper) => cardIdForCode(code, pepper.value))),
    ].filter((id) => id !== cardId);
    const result: IssuedCard = { card: planned.card, code, transactions: planned.entries };
    const outcome = await writeAtomically(
      [
        {
          Put: {
            TableName: tableName(),
            Item: cardItem(planned.card),
            // Guarantees: a code (and so a card id) is never issued twice.
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        countIssuedCard(program.id, shard, program.maxCards),
        ...olderIds.map(
          (id): TransactItem => ({
            ConditionCheck: {
              TableName: tableName(),
              Key: cardKey(id),
              // Guarantees: no card issued under an older pepper has this code.
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          }),
        ),
        ...planned.entries.map(entryPut),
      ],
      { claim, result, now: context.now },
    );
    if (outcome.kind === 'committed') return result;
    if (outcome.kind === 'replayed') return outcome.result;
    if (outcome.kind === 'key-busy') throw keyInProgress();
    const failed = (index: number) => outcome.reasons[index]?.code === 'ConditionalCheckFailed';
    if (failed(0) || olderIds.some((_, index) => failed(2 + index))) {
      if (++collisions >= MAX_CODE_ATTEMPTS) throw new Error('Could not draw an unused card code');
    } else if (failed(1)) {
      await shards.full(shard);
    } else {
      // Another issue held one of the items (TransactionConflict): try again, likely on another shard.
      await backoff(attempt);
    }
  }
  const earlier = claim ? await findReplay<IssuedCard>(claim, context.now) : undefined;
  if (earlier) return earlier;
  if (shards.exhausted) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      `This program has issued the most cards it may (maxCards ${program.maxCards}); raising maxCards needs a code format long enough for it.`,
    );
  }
  if (claim) throw keyInProgress();
  throw new DomainError('CONFLICT', 'Cards are being issued in this program too fast; retry the request.');
}

/** What a caller asks of a card; holds, refunds and reversals name the records the store reads. */
export type CardRequest =
  | Extract<
      CardOperation,
      { type: 'ACTIVATE' | 'LOAD' | 'REDEEM' | 'ADJUST' | 'BLOCK' | 'UNBLOCK' | 'DEACTIVATE' }
    >
  | Extract<CardOperation, { type: 'CLEAR_BALANCE' | 'EXPIRE' }>
  | { readonly type: 'HOLD'; readonly amount: number; readonly expiresInSeconds: number }
  | { readonly type: 'CAPTURE'; readonly holdId: string; readonly amount?: number }
  | { readonly type: 'VOID'; readonly holdId: string; readonly expired?: boolean }
  | { readonly type: 'REFUND'; readonly amount: number; readonly transactionId?: string }
  | { readonly type: 'REVERSE'; readonly transactionId: string }
  | {
      readonly type: 'PIN_SET' | 'PIN_RESET';
      readonly hashed?: { readonly hash: string; readonly salt: string };
      readonly reason?: string;
    };

/**
 * Primary course: read the card, let the domain plan the change, and write card + ledger entry (+ a
 * hold or refund tally, + the idempotency record) in one transaction guarded by the card's sequence
 * number and the money rules. When another change lands first, the failed condition returns the card
 * as it now is and we plan again on that; a retry of a committed request gets the first result back.
 */
export function operateOnCard(
  cardId: string,
  request: CardRequest,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  visible: CardVisibility,
  options: { readonly pin?: string; readonly early?: EarlyCardRead } = {},
): Promise<CardResult> {
  // Drawn once, so every retry of this request places the same hold.
  const holdId = request.type === 'HOLD' ? newId('hold', context.now) : undefined;
  let pinChecked = !SPENDING.has(request.type) || context.actor.type === 'staff';
  const early = options.early?.cardId === cardId ? options.early : undefined;
  return commitInLanes([cardId], claim, context.now, early, async (cards) => {
    const card = cards.get(cardId);
    if (!card || !visible(card)) throw notFound('The card');
    const program = await getProgram(card.programId, { cached: true });
    if (!pinChecked) {
      // Once per request, not per retry: every check spends one of the card's PIN attempts.
      await requirePin(card, program, options.pin, context.request.channel);
      pinChecked = true;
    }
    const operation = await resolve(card, request, holdId);
    const planned = planOperation(card, program, operation, context);
    return {
      changes: [planned],
      result: {
        transaction: planned.entry,
        card: planned.card,
        ...(planned.hold ? { hold: planned.hold.next } : {}),
      },
    };
  });
}

/** Uses that spend the card's value, for which a program may require the PIN (staff are exempt). */
const SPENDING: ReadonlySet<CardRequest['type']> = new Set(['REDEEM', 'HOLD', 'CLEAR_BALANCE']);

/** Turns ids in a request into the records the domain decides on (read after the card, consistently). */
async function resolve(card: Card, request: CardRequest, holdId: string | undefined): Promise<CardOperation> {
  switch (request.type) {
    case 'HOLD':
      return { ...request, holdId: holdId ?? newId('hold') };
    case 'CAPTURE':
    case 'VOID': {
      const hold = await findHold(card.id, request.holdId);
      if (!hold) throw notFound('The hold');
      return request.type === 'CAPTURE'
        ? { type: 'CAPTURE', hold, ...(request.amount !== undefined ? { amount: request.amount } : {}) }
        : { type: 'VOID', hold, ...(request.expired ? { expired: true } : {}) };
    }
    case 'REFUND': {
      if (!request.transactionId) return { type: 'REFUND', amount: request.amount };
      const original = await entryWithReturns(card.id, request.transactionId);
      return { type: 'REFUND', amount: request.amount, original };
    }
    case 'REVERSE': {
      const { entry, returns } = await entryWithReturns(card.id, request.transactionId);
      return { type: 'REVERSE', original: entry, returns };
    }
    case 'PIN_SET':
    case 'PIN_RESET': {
      const existing = await findPin(card.id);
      return { ...request, ...(existing ? { existing } : {}) };
    }
    default:
      return request;
  }
}

export async function entryWithReturns(cardId: string, transactionId: string) {
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

/**
 * Moves value between two cards of the same currency in one transaction: TRANSFER_OUT and TRANSFER_IN
 * entries, each guarded by its card's sequence number. Both cards are locked in a fixed order.
 */
export async function transferBetweenCards(
  fromId: string,
  toId: string,
  amount: number | undefined,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  visible: CardVisibility,
): Promise<TransferResult> {
  if (fromId === toId) {
    throw new DomainError('VALIDATION_FAILED', 'A card cannot transfer to itself.', [
      { field: 'toCardId', message: 'must be another card' },
    ]);
  }
  return commitInLanes([fromId, toId], claim, context.now, undefined, async (cards) => {
    const from = cards.get(fromId);
    const to = cards.get(toId);
    if (!from || !visible(from)) throw notFound('The card');
    if (!to || !visible(to)) throw notFound('The destination card');
    const toProgram = await getProgram(to.programId, { cached: true });
    const planned = planTransfer(from, to, toProgram, amount, context);
    return {
      changes: [planned.out, planned.in],
      result: {
        transaction: planned.out.entry,
        card: planned.out.card,
        counterpart: { transaction: planned.in.entry, card: planned.in.card },
      },
    };
  });
}

export interface TransferResult extends CardResult {
  readonly counterpart: CardResult;
}

function changeItems(change: CardChange): TransactItem[] {
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

type Plan<R> = (cards: Map<string, Card>) => Promise<{ changes: CardChange[]; result: R }>;

/** A refusal by the plan (insufficient funds, not found, blocked...), carried out of the card lanes. */
class Refused {
  constructor(readonly error: unknown) {}
}

/**
 * Every card change: queue in the cards' lanes (functions/store/card-queue.ts, fixed order so two
 * transfers cannot wait on each other), commit, and once out of the lanes, answer a refusal with the
 * earlier result when it is the retry of a request that already committed, so that read does not hold
 * up the requests queued behind it.
 */
async function commitInLanes<R>(
  cardIds: readonly string[],
  claim: IdempotencyClaim | undefined,
  now: Date,
  early: EarlyCardRead | undefined,
  plan: Plan<R>,
): Promise<R> {
  const arrivedAt = early?.arrivedAt ?? tick();
  const inLanes = [...cardIds].sort().reduceRight<() => Promise<R>>(
    (inner, id) => () => oneAtATime(id, inner),
    () => commitWithRetries(cardIds, claim, now, arrivedAt, early, plan),
  );
  try {
    return await inLanes();
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    // A refusal may be the retry of a request that already committed: answer as the first time.
    const earlier = claim ? await findReplay<R>(claim, now) : undefined;
    if (earlier) return earlier;
    throw error.error;
  }
}

/**
 * The retry loop shared by every card change: take the cards' state (seen in their lane since this
 * request arrived, returned by a failed condition, or read), plan, write everything in one transaction,
 * and tell commit, replay and lost race apart.
 */
async function commitWithRetries<R>(
  cardIds: readonly string[],
  claim: IdempotencyClaim | undefined,
  now: Date,
  arrivedAt: number,
  early: EarlyCardRead | undefined,
  plan: Plan<R>,
): Promise<R> {
  const known = new Map<string, Card>();
  for (const id of cardIds) {
    const seen = cardSeenSince(id, arrivedAt);
    if (seen) known.set(id, seen);
  }
  // The early read, unless the lane already holds a state seen since (newer): used once, then dropped.
  let ahead = early && !known.has(early.cardId) ? early : undefined;
  let keyBusy = false;
  const deadline = Date.now() + WRITE_BUDGET_MS;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const cards = new Map<string, Card>();
    await Promise.all(
      cardIds.map(async (id) => {
        if (known.has(id)) {
          cards.set(id, known.get(id) as Card);
          return;
        }
        const read =
          ahead?.cardId === id
            ? { sentAt: ahead.sentAt, card: await ahead.card.catch(() => findCard(id)) }
            : { sentAt: tick(), card: await findCard(id) };
        if (read.card) {
          cards.set(id, read.card);
          noteCard(read.card, read.sentAt);
        }
      }),
    );
    known.clear();
    ahead = undefined;
    let planned: { changes: CardChange[]; result: R };
    try {
      planned = await plan(cards);
    } catch (error) {
      throw new Refused(error);
    }
    const groups = planned.changes.map(changeItems);
    const sentAt = tick();
    const outcome = await writeAtomically(groups.flat(), { claim, result: planned.result, now });
    if (outcome.kind === 'committed') {
      for (const change of planned.changes) noteCard(change.card, sentAt);
      return planned.result;
    }
    if (outcome.kind === 'replayed') return outcome.result;
    if (outcome.kind === 'key-busy') keyBusy = true;
    if (outcome.kind === 'cancelled') {
      // A card moved on since we read it: plan again on the state its failed condition returned.
      let offset = 0;
      for (const [index, group] of groups.entries()) {
        const reason = outcome.reasons[offset];
        const cardId = planned.changes[index]?.card.id;
        if (cardId && reason?.code === 'ConditionalCheckFailed' && reason.item) {
          const card = toCard(reason.item);
          known.set(cardId, card);
          noteCard(card, sentAt);
        }
        offset += group.length;
      }
      // Fresh state in hand: try again at once, backing off only when the card stays contended.
      if (known.size > 0 && attempt < 3) continue;
    }
    await backoff(attempt);
  }
  // IN_PROGRESS only when the key itself was contended; a card busy with other requests is CONFLICT.
  if (keyBusy) throw keyInProgress();
  throw new DomainError('CONFLICT', 'The card is busy with other changes; retry the request.');
}

export interface CardFilter {
  readonly programId?: string;
  readonly customerId?: string;
  readonly merchantId?: string;
  readonly status?: string;
  readonly last4?: string;
}

/** Staff card search: by program, customer or issuing merchant, narrowed by status and last 4. */
export async function listCards(
  filter: CardFilter,
  limit: number,
  cursor: string | undefined,
  now: Date,
  displayStatus: (card: Card, now: Date) => string,
): Promise<Page<Card>> {
  const [index, partition] = filter.customerId
    ? (['GSI2', customerCardsIndexPk(filter.customerId)] as const)
    : filter.merchantId
      ? (['GSI3', merchantCardsIndexPk(filter.merchantId)] as const)
      : filter.programId
        ? (['GSI1', programCardsIndexPk(filter.programId)] as const)
        : (() => {
            throw new DomainError(
              'VALIDATION_FAILED',
              'Give programId, customerId or merchantId to list cards.',
              [{ field: 'programId', message: 'one of programId, customerId, merchantId is required' }],
            );
          })();
  const page = await listByIndex(index, partition, { limit, cursor, newestFirst: true }, toCard);
  const items = page.items.filter(
    (card) =>
      (!filter.programId || card.programId === filter.programId) &&
      (!filter.merchantId || card.merchantId === filter.merchantId) &&
      (!filter.status || displayStatus(card, now) === filter.status) &&
      (!filter.last4 || card.last4 === filter.last4),
  );
  return { items, nextCursor: page.nextCursor };
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

/** A ledger entry and its card, read side by side; who may see them is for `getTransaction` to say. */
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

/** `read`: the same reads when they were started ahead (the API's `early`). */
export async function getTransaction(
  transactionId: string,
  visible: CardVisibility,
  read: Promise<{ card?: Card; entry?: LedgerEntry } | undefined> = readEntryAndCard(transactionId),
): Promise<LedgerEntry> {
  const found = await read;
  if (!found?.card || !visible(found.card) || !found.entry) throw notFound('The transaction');
  return found.entry;
}
