import { describe, expect, it } from 'vitest';
import type { EntryType } from '../../functions/core/ledger';
import { deliveryIdOf, eventIdOf, eventTypesOf, lanePositionOf } from '../../functions/core/webhook-events';
import { afterFailure, DELIVERY_WINDOW_MS, deadlineOf } from '../../functions/core/webhook-retry';

const typesOf = (type: EntryType, amount = 0) => eventTypesOf({ type, amount });

describe('events of a ledger entry', () => {
  it('card state changes give card.* events; value moves give transaction.created', () => {
    expect(typesOf('ISSUE')).toEqual(['card.issued', 'transaction.created']);
    expect(typesOf('ISSUE', 2500)).toEqual(['card.issued', 'transaction.created']);
    expect(typesOf('ACTIVATE')).toEqual(['card.activated']);
    expect(typesOf('ACTIVATE', 1000)).toEqual(['card.activated', 'transaction.created']);
    expect(typesOf('BLOCK')).toEqual(['card.blocked']);
    expect(typesOf('UNBLOCK')).toEqual(['card.unblocked']);
    expect(typesOf('DEACTIVATE')).toEqual(['card.deactivated']);
    expect(typesOf('REDEEM', -500)).toEqual(['transaction.created']);
    expect(typesOf('LOAD', 500)).toEqual(['transaction.created']);
    expect(typesOf('HOLD', 0)).toEqual(['transaction.created']);
    expect(typesOf('PIN_SET')).toEqual([]);
  });

  it('ids are deterministic, distinct per type and per endpoint, and shaped like other ids', () => {
    const event = eventIdOf('tx_abc_1', 'card.issued');
    expect(event).toMatch(/^evt_[0-9a-z]{26}$/);
    expect(eventIdOf('tx_abc_1', 'card.issued')).toBe(event);
    expect(eventIdOf('tx_abc_1', 'transaction.created')).not.toBe(event);
    expect(eventIdOf('tx_abc_2', 'card.issued')).not.toBe(event);
    const delivery = deliveryIdOf('wh_1', event);
    expect(delivery).toMatch(/^whd_[0-9a-z]{26}$/);
    expect(deliveryIdOf('wh_1', event)).toBe(delivery);
    expect(deliveryIdOf('wh_2', event)).not.toBe(delivery);
  });

  it('lane positions sort in event order', () => {
    const positions = [
      lanePositionOf(10, 0),
      lanePositionOf(2, 1),
      lanePositionOf(2, 0),
      lanePositionOf(1, 1),
    ];
    expect([...positions].sort()).toEqual([
      lanePositionOf(1, 1),
      lanePositionOf(2, 0),
      lanePositionOf(2, 1),
      lanePositionOf(10, 0),
    ]);
  });
});

describe('retry schedule', () => {
  const start = new Date('2026-01-01T00:00:00Z');
  const deadline = deadlineOf(start);

  it('backs off 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then 8 h', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((failures) => {
      const next = afterFailure(failures, start, deadline);
      return next.kind === 'retry' ? (next.nextAttemptAt.getTime() - start.getTime()) / 1000 : -1;
    });
    expect(delays).toEqual([30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800]);
  });

  it('never schedules past the window, tries once at its end, then gives up', () => {
    expect(deadline.getTime() - start.getTime()).toBe(DELIVERY_WINDOW_MS);
    const late = new Date(deadline.getTime() - 60_000);
    expect(afterFailure(8, late, deadline)).toEqual({ kind: 'retry', nextAttemptAt: deadline });
    expect(afterFailure(9, deadline, deadline)).toEqual({ kind: 'dead' });
  });

  it('a whole day of failures is about ten attempts', () => {
    let now = start;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const next = afterFailure(attempts, now, deadline);
      if (next.kind === 'dead') break;
      now = next.nextAttemptAt;
    }
    expect(attempts).toBeGreaterThanOrEqual(9);
    expect(attempts).toBeLessThanOrEqual(12);
  });
});
