import { describe, expect, it } from 'vitest';
import { cardSeenSince, noteCard, oneAtATime, tick } from '../../functions/store/card-queue';
import { makeCard } from './domain-fixtures';

describe('card lanes', () => {
  it('run the work of one card one after another, in arrival order, even when some of it fails', async () => {
    const order: string[] = [];
    const step = (name: string, fail = false) =>
      oneAtATime('card-1', async () => {
        order.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([step('a'), step('b', true), step('c')]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('hand a queued request only a state seen by a call sent after it arrived', async () => {
    const card = makeCard({ id: 'gc_lane2' });
    const before = tick();
    let queued: Promise<unknown> = Promise.resolve();
    await oneAtATime(card.id, async () => {
      const arrived = tick(); // the next request arrives while this one works
      queued = oneAtATime(card.id, async () => cardSeenSince(card.id, arrived));
      noteCard({ ...card, balance: 1 }, tick());
    });
    expect(await queued).toMatchObject({ id: card.id, balance: 1 });
    // Once the lane drained, nothing is kept.
    expect(cardSeenSince(card.id, before)).toBeUndefined();
  });

  it('never hands over a state seen before the request arrived, nor the older of two states', async () => {
    const card = makeCard({ id: 'gc_lane3' });
    const checks: unknown[] = [];
    await oneAtATime(card.id, async () => {
      const earlySend = tick();
      const arrived = tick();
      noteCard({ ...card, balance: 7 }, earlySend);
      checks.push(cardSeenSince(card.id, arrived));
      const lateSend = tick();
      noteCard({ ...card, balance: 9 }, lateSend);
      noteCard({ ...card, balance: 8 }, earlySend);
      checks.push(cardSeenSince(card.id, arrived));
    });
    expect(checks[0]).toBeUndefined();
    expect(checks[1]).toMatchObject({ balance: 9 });
  });

  it('keeps nothing for a card without a lane', () => {
    const card = makeCard({ id: 'gc_lane4' });
    const arrived = tick();
    noteCard(card, tick());
    expect(cardSeenSince(card.id, arrived)).toBeUndefined();
  });
});
