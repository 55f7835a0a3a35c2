import type { Card, CardOperation, OperationContext } from '../core/card';
import { planOperation, verbOf } from '../core/card';
import { CARD_POLICY, type CardVerb, pinApplies, requireState } from '../core/card-policy';
import { notFound } from '../core/errors';
import type { Hold } from '../core/hold';
import { newId } from '../core/ids';
import type { LedgerEntry } from '../core/ledger';
import type { Program } from '../core/program';
import { type CardPlan, type Committed, commitCardChanges } from '../store/card-commit';
import { type EarlyCardRead, entryWithReturns, findCard, findHold, readCardEarly } from '../store/card-reads';
import { findReplay, type IdempotencyClaim } from '../store/idempotency';
import { findPin } from '../store/pins';
import { getProgram } from '../store/programs';
import { requireRightPin } from './pin-check';

/** Who is asking decides which cards exist for them: a card they may not see is NOT_FOUND. */
export type CardVisibility = (card: Card) => boolean;

export interface CardResult {
  readonly transaction: LedgerEntry;
  readonly card: Card;
  readonly hold?: Hold;
}

/** What a caller asks of a card; holds, refunds and reversals name the records the change reads. */
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

export interface ChangeOptions {
  readonly claim?: IdempotencyClaim | undefined;
  /** The card's PIN as the caller gave it, for verbs the policy guards with it. */
  readonly pin?: string | undefined;
  readonly early?: EarlyCardRead | undefined;
  /** Epoch ms after which nothing may be written (the request's answer is due). */
  readonly deadlineMs?: number | undefined;
}

/**
 * One verb on one card. Primary course: where the policy wants the card's PIN from this caller, read
 * the card, check that the caller may see it and act on it in its state, and check the PIN once (it
 * spends an attempt, so never per retry, and never inside the card's lane, where its slow hash would
 * hold up everyone queued behind). Then the commit engine plans on the card's current state with
 * core's planOperation (which asks the policy) and writes card, entry and idempotency record together.
 */
export async function changeCard(
  cardId: string,
  request: CardRequest,
  context: OperationContext,
  visible: CardVisibility,
  options: ChangeOptions = {},
): Promise<Committed<CardResult>> {
  // Drawn once, so every retry of this request places the same hold.
  const holdId = request.type === 'HOLD' ? newId('hold', context.now) : undefined;
  let early = options.early?.cardId === cardId ? options.early : undefined;
  let program: Program | undefined;
  const verb = verbOf(request);
  if (mayNeedPin(verb, context)) {
    // The read made here is the one the change plans on first: one read, not two.
    early ??= readCardEarly(cardId);
    const card = await early.card.catch(() => findCard(cardId));
    try {
      program = await checkBeforeLane(verb, card, visible, context, options.pin);
    } catch (error) {
      const earlier = await replayOf<CardResult>(options.claim);
      if (earlier) return earlier;
      throw error;
    }
  }
  const plan: CardPlan<CardResult> = {
    plan: async (cards, now) => {
      const card = cards.get(cardId);
      if (!card || !visible(card)) throw notFound('The card');
      program = await getProgram(card.programId, { cached: true });
      const operation = await resolve(card, request, holdId);
      const planned = planOperation(card, program, operation, { ...context, now });
      const result: CardResult = {
        transaction: planned.entry,
        card: planned.card,
        ...(planned.hold ? { hold: planned.hold.next } : {}),
      };
      return { changes: [planned], result };
    },
    refusal: (cards, now) => {
      const card = cards.get(cardId);
      if (!card || !program || !isPlainRequest(request)) return undefined;
      try {
        planOperation(card, program, request, { ...context, now });
        return undefined;
      } catch (error) {
        return error;
      }
    },
  };
  return commitCardChanges(
    [cardId],
    { claim: options.claim, early, deadlineMs: options.deadlineMs, now: context.now },
    plan,
  );
}

/** Whether the policy may want this caller's PIN for the verb (the program decides: checkBeforeLane). */
export const mayNeedPin = (verb: CardVerb, context: OperationContext): boolean =>
  CARD_POLICY[verb].pin === 'SPEND' && context.actor.type === 'merchant';

/**
 * Before a PIN-guarded change queues: the caller may see the card and act on it in its state, and the
 * PIN is right where the program wants it. Returns the card's program.
 */
export async function checkBeforeLane(
  verb: CardVerb,
  card: Card | undefined,
  visible: CardVisibility,
  context: OperationContext,
  pin: string | undefined,
): Promise<Program> {
  if (!card || !visible(card)) throw notFound('The card');
  const program = await getProgram(card.programId, { cached: true });
  requireState(verb, context.actor, card, context.now);
  if (pinApplies(verb, context.actor, program, context.request.channel)) await requireRightPin(card.id, pin);
  return program;
}

/**
 * The earlier result under the request's key, if it committed: a refusal before the lane may be the
 * retry of a request that already committed, which answers as the first time.
 */
export async function replayOf<R>(claim: IdempotencyClaim | undefined): Promise<Committed<R> | undefined> {
  const earlier = claim ? await findReplay<R>(claim, new Date()) : undefined;
  return earlier === undefined ? undefined : { result: earlier, replayed: true };
}

/** Requests planned from the card alone (no hold, entry or PIN record to read first). */
function isPlainRequest(request: CardRequest): request is Extract<CardRequest, CardOperation> {
  return (
    request.type === 'REDEEM' ||
    request.type === 'LOAD' ||
    request.type === 'ACTIVATE' ||
    request.type === 'CLEAR_BALANCE' ||
    request.type === 'BLOCK' ||
    request.type === 'UNBLOCK' ||
    request.type === 'DEACTIVATE' ||
    request.type === 'ADJUST' ||
    request.type === 'EXPIRE'
  );
}

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
