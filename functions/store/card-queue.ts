import type { Card } from '../core/card';

/**
 * Single flight per card within one process: changes to the same card from concurrent requests in this
 * process run one after another instead of racing each other into failed conditional writes. It is an
 * optimisation only: correctness across processes and Lambda instances comes from the write conditions
 * (sequence number, state, available funds), which stay in force.
 *
 * While requests wait in a card's lane, each read or write of the card leaves the state it saw for the
 * next one, so a queued request does not read the card again. It may only use a state seen by a call
 * *sent after it arrived*: that state held at some instant between the request's arrival and its
 * answer, so a refusal planned on it (insufficient funds, blocked) is as true as one planned on a fresh
 * read, and a write planned on a stale state fails its condition and plans again, as always. In Lambda,
 * one request per instance, nothing was sent after a request arrived and every change reads the card.
 */
interface Lane {
  tail: Promise<unknown>;
  seen?: { readonly card: Card; readonly sentAt: number };
  /** Requests waiting their turn that want to hear of each new state (see `watchLane`). */
  watchers?: Set<(card: Card, sentAt: number) => void>;
}

const lanes = new Map<string, Lane>();
let clock = 0;

/** A tick of this process's logical clock, taken when a request arrives or a call is sent. */
export const tick = (): number => ++clock;

export async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const lane = lanes.get(key) ?? { tail: Promise.resolve() };
  lanes.set(key, lane);
  const run = lane.tail.then(work, work);
  const tail = run.catch(() => undefined);
  lane.tail = tail;
  try {
    return await run;
  } finally {
    if (lane.tail === tail) lanes.delete(key);
  }
}

/** Leaves the state of a card, as a call sent at `sentAt` saw or wrote it, for requests in its lane. */
export function noteCard(card: Card, sentAt: number): void {
  const lane = lanes.get(card.id);
  if (lane && (!lane.seen || lane.seen.sentAt < sentAt)) {
    lane.seen = { card, sentAt };
    for (const watcher of lane.watchers ?? []) watcher(card, sentAt);
  }
}

/** Whether requests are queued on this card in this process. */
export const laneBusy = (cardId: string): boolean => lanes.has(cardId);

/**
 * Hears of each state of the card seen while the caller waits in its lane (a request that can only be
 * refused on that state answers at once instead of waiting behind the commits ahead of it). Returns
 * the function that stops listening.
 */
export function watchLane(cardId: string, watcher: (card: Card, sentAt: number) => void): () => void {
  const lane = lanes.get(cardId);
  if (!lane) return () => undefined;
  lane.watchers ??= new Set();
  lane.watchers.add(watcher);
  return () => lane.watchers?.delete(watcher);
}

/** The latest state of the card seen by a call sent after `arrivedAt`, if its lane holds one. */
export function cardSeenSince(cardId: string, arrivedAt: number): Card | undefined {
  const seen = lanes.get(cardId)?.seen;
  return seen && seen.sentAt > arrivedAt ? seen.card : undefined;
}
