import { CARD_WRITE_BUDGET_MS } from '../config';
import type { Card, CardChange } from '../core/card-model';
import { DomainError } from '../core/errors';
import { requestClock } from '../core/request-clock';
import { cardWrites, toCard } from './card-items';
import { cardSeenSince, laneBusy, noteCard, oneAtATime, tick, watchLane } from './card-queue';
import { type EarlyCardRead, findCard } from './card-reads';
import { findReplay, type IdempotencyClaim } from './idempotency';
import { backoff, keyInProgress, type TransactItem, writeAtomically } from './transact';

/**
 * The commit engine for card changes: queue in the cards' lanes, read or reuse their state, ask the
 * use case's plan, write everything in one transaction, and tell commit, replay and lost race apart.
 * It decides nothing about policy: the plan does (core/card-policy.ts through functions/app).
 */

/** The answer of a change: its result, and whether it is the replay of an earlier request's. */
export interface Committed<R> {
  readonly result: R;
  readonly replayed: boolean;
}

export interface CommitOptions {
  readonly claim?: IdempotencyClaim | undefined;
  /** The card read started as the request arrived (functions/http/api-handler.ts `early`). */
  readonly early?: EarlyCardRead | undefined;
  /** Epoch ms after which no write may be sent: the request's answer is due (503 TIMED_OUT). */
  readonly deadlineMs?: number | undefined;
  /**
   * The request's clock (its arrival; jobs and tests may set another). Each attempt plans at this time
   * plus what has elapsed since, so a retry's entry time and expiry guard are those of its own write.
   */
  readonly now?: Date | undefined;
}

/**
 * What a use case plans on the cards' current state. `now` is taken for each attempt, so an entry's
 * time and its expiry guard are those of the write that carries them. `refusal` (optional, pure, no
 * I/O): the error the request could only end in on this state, if any, so a request queued behind
 * others on a card can answer as soon as a state seen since it arrived refuses it.
 */
export interface CardPlan<R> {
  /**
   * `alongside`: items written in the same transaction besides the cards' (a new card and its entries,
   * built by store/card-items.ts helpers); they come last, so a cancellation's first reasons are the cards'.
   */
  plan(
    cards: ReadonlyMap<string, Card>,
    now: Date,
  ): Promise<{ changes: CardChange[]; result: R; alongside?: TransactItem[] }>;
  refusal?(cards: ReadonlyMap<string, Card>, now: Date): unknown;
}

/** How long a change keeps trying on a busy card before answering CONFLICT (functions/config.ts). */
const WRITE_BUDGET_MS = CARD_WRITE_BUDGET_MS;

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
export async function commitCardChanges<R>(
  cardIds: readonly string[],
  options: CommitOptions,
  plan: CardPlan<R>,
): Promise<Committed<R>> {
  const arrivedAt = options.early?.arrivedAt ?? tick();
  // Once its turn starts a request is committed to its own outcome; until then a refusal seen in the
  // lane may end it, and its turn then passes at once.
  const turnState = { started: false, gaveUp: false };
  const inLanes = [...cardIds].sort().reduceRight<() => Promise<Committed<R>>>(
    (inner, id) => () => oneAtATime(id, inner),
    () => {
      if (turnState.gaveUp) return Promise.reject(new Refused(undefined));
      turnState.started = true;
      return commitWithRetries(cardIds, arrivedAt, options, plan);
    },
  );
  const stopWatching: (() => void)[] = [];
  // Checked before joining: a request that finds others ahead of it in the lane may wait a while.
  const queued = cardIds.length === 1 && cardIds.every(laneBusy);
  try {
    const turn = inLanes();
    const refusedEarly = queued
      ? watchForRefusal(cardIds, arrivedAt, plan, turnState, stopWatching, options.now)
      : undefined;
    if (refusedEarly) turn.catch(() => undefined);
    return await (refusedEarly ? Promise.race([turn, refusedEarly]) : turn);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    // A refusal may be the retry of a request that already committed: answer as the first time.
    const earlier = options.claim ? await findReplay<R>(options.claim, new Date()) : undefined;
    if (earlier !== undefined) return { result: earlier, replayed: true };
    throw error.error;
  } finally {
    for (const stop of stopWatching) stop();
  }
}

/**
 * While a single-card request waits behind others in the card's lane, each state the lane sees (sent
 * after the request arrived, so as true as a fresh read) is checked against the plan's `refusal`: a
 * request that can only be refused on it (the card was just emptied, blocked) answers at once.
 */
function watchForRefusal<R>(
  cardIds: readonly string[],
  arrivedAt: number,
  plan: CardPlan<R>,
  turnState: { started: boolean; gaveUp: boolean },
  stopWatching: (() => void)[],
  requestNow: Date | undefined,
): Promise<never> | undefined {
  const clock = requestClock(requestNow);
  const [cardId] = cardIds;
  const refusal = plan.refusal;
  if (cardIds.length !== 1 || !cardId || !refusal) return undefined;
  return new Promise<never>((_resolve, reject) => {
    stopWatching.push(
      watchLane(cardId, (card, sentAt) => {
        if (turnState.started || turnState.gaveUp || sentAt <= arrivedAt) return;
        const error = refusal(new Map([[cardId, card]]), clock());
        if (error === undefined) return;
        turnState.gaveUp = true;
        reject(new Refused(error));
      }),
    );
  });
}

/**
 * The retry loop shared by every card change: take the cards' state (seen in their lane since this
 * request arrived, returned by a failed condition, or read), plan, check the deadline right before the
 * write, write everything in one transaction, and tell commit, replay and lost race apart.
 */
async function commitWithRetries<R>(
  cardIds: readonly string[],
  arrivedAt: number,
  options: CommitOptions,
  plan: CardPlan<R>,
): Promise<Committed<R>> {
  const { claim, early } = options;
  const clock = requestClock(options.now);
  const known = new Map<string, Card>();
  for (const id of cardIds) {
    const seen = cardSeenSince(id, arrivedAt);
    if (seen) known.set(id, seen);
  }
  // The early read, unless the lane already holds a state seen since (newer): used once, then dropped.
  let ahead = early && cardIds.includes(early.cardId) && !known.has(early.cardId) ? early : undefined;
  let keyBusy = false;
  const deadline = Math.min(Date.now() + WRITE_BUDGET_MS, options.deadlineMs ?? Number.POSITIVE_INFINITY);
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
    let planned: { changes: CardChange[]; result: R; alongside?: TransactItem[] };
    try {
      planned = await plan.plan(cards, clock());
    } catch (error) {
      throw new Refused(error);
    }
    const groups = cardWrites(planned.changes);
    // Nothing is sent once the answer is due: a write sent now could commit after a 503 was answered.
    if (Date.now() >= deadline) break;
    const sentAt = tick();
    const items = [...groups.flatMap((group) => group.items), ...(planned.alongside ?? [])];
    const outcome = await writeAtomically(items, { claim, result: planned.result, now: clock() });
    if (outcome.kind === 'committed') {
      for (const group of groups) noteCard(group.card, sentAt);
      return { result: planned.result, replayed: false };
    }
    if (outcome.kind === 'replayed') return { result: outcome.result, replayed: true };
    if (outcome.kind === 'key-busy') keyBusy = true;
    if (outcome.kind === 'cancelled') {
      // A card moved on since we read it: plan again on the state its failed condition returned.
      let offset = 0;
      for (const group of groups) {
        const reason = outcome.reasons[offset];
        if (reason?.code === 'ConditionalCheckFailed' && reason.item) {
          const card = toCard(reason.item);
          known.set(group.card.id, card);
          noteCard(card, sentAt);
        }
        offset += group.items.length;
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
