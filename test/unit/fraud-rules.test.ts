import { describe, expect, it } from 'vitest';
import { DomainError } from '../../functions/core/errors';
import { alertIdOf, type FraudAlert, planAlertStep } from '../../functions/core/fraud-alert';
import {
  counterNeeds,
  defaultFraudRules,
  evaluateFailedChecks,
  evaluateFraudRules,
  FRAUD_ENTRY_TYPES,
  type FraudRules,
  mergeFraudRules,
} from '../../functions/core/fraud-rules';
import type { LedgerEntry } from '../../functions/core/ledger';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { CARD_ID, NOW_ISO } from './domain-fixtures';

const rules = defaultFraudRules('USD');

function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    id: `tx_${CARD_ID.slice(3)}_7`,
    cardId: CARD_ID,
    programId: 'prg_test',
    seq: 7,
    type: 'REDEEM',
    amount: -1000,
    currency: 'USD',
    balanceAfter: 4000,
    availableAfter: 4000,
    actor: { type: 'merchant', id: 'mer_a', keyId: 'key_a' },
    merchantId: 'mer_a',
    channel: 'POS',
    createdAt: NOW_ISO,
    ...overrides,
  };
}

const rulesOf = (hits: { rule: string }[]) => hits.map((hit) => hit.rule);
const only = (patch: Parameters<typeof mergeFraudRules>[1]): FraudRules => {
  const off = mergeFraudRules(rules, {
    REDEMPTION_VELOCITY_CARD: { enabled: false },
    REDEMPTION_VELOCITY_MERCHANT: { enabled: false },
    DRAIN_AFTER_ACTIVATION: { enabled: false },
    LARGE_LOAD: { enabled: false },
    MANY_MERCHANTS: { enabled: false },
  });
  return mergeFraudRules(off, patch);
};

describe('defaults and settings', () => {
  it('scale money thresholds with the currency and block only on card velocity', () => {
    expect(rules.LARGE_LOAD.threshold).toBe(25_000);
    expect(defaultFraudRules('JPY').LARGE_LOAD.threshold).toBe(250);
    expect(defaultFraudRules('KWD').REDEMPTION_VELOCITY_CARD.maxAmount).toBe(2_000_000);
    const blocking = Object.entries(rules)
      .filter(([, settings]) => settings.block)
      .map(([rule]) => rule);
    expect(blocking).toEqual(['REDEMPTION_VELOCITY_CARD']);
    expect(Object.values(rules).every((settings) => settings.enabled)).toBe(true);
  });

  it('merge rule by rule and field by field; absent and undefined fields keep their value', () => {
    const merged = mergeFraudRules(rules, {
      LARGE_LOAD: { threshold: 100, block: true },
      MANY_MERCHANTS: { maxMerchants: undefined, windowHours: 2 },
    });
    expect(merged.LARGE_LOAD).toEqual({ enabled: true, block: true, threshold: 100 });
    expect(merged.MANY_MERCHANTS).toEqual({ ...rules.MANY_MERCHANTS, windowHours: 2 });
    expect(merged.REDEMPTION_VELOCITY_CARD).toBe(rules.REDEMPTION_VELOCITY_CARD);
    expect(mergeFraudRules(rules, undefined)).toBe(rules);
  });

  it('read only the counters an enabled rule needs', () => {
    expect(counterNeeds(entry(), rules)).toEqual({
      cardWindowMinutes: 10,
      merchantWindowMinutes: 10,
      merchantsWindowHours: 24,
      activation: true,
    });
    expect(counterNeeds(entry({ merchantId: undefined }), rules)).toEqual({
      cardWindowMinutes: 10,
      activation: true,
    });
    expect(counterNeeds(entry({ type: 'LOAD', amount: 500 }), rules)).toEqual({ activation: false });
    expect(counterNeeds(entry({ type: 'ACTIVATE', amount: 500 }), rules)).toEqual({ activation: true });
    expect(counterNeeds(entry({ type: 'TRANSFER_OUT' }), rules)).toEqual({ activation: true });
    expect(counterNeeds(entry(), only({}))).toEqual({ activation: false });
  });

  it('the fraud consumer is fed the entry types the rules look at, and failed-check counters', () => {
    const fraud = STREAM_CONSUMERS.find((consumer) => consumer.name === 'fraud');
    expect(fraud?.tableAccess).toBe('readWrite');
    expect(JSON.stringify(fraud?.filters)).toContain(JSON.stringify([...FRAUD_ENTRY_TYPES]));
    expect(JSON.stringify(fraud?.filters)).toContain('FRAUD#caller#');
    expect([...FRAUD_ENTRY_TYPES].sort()).toEqual(
      ['ACTIVATE', 'CAPTURE', 'CLEAR_BALANCE', 'LOAD', 'REDEEM', 'REFUND', 'TRANSFER_OUT'].sort(),
    );
  });
});

describe('REDEMPTION_VELOCITY_CARD', () => {
  const settings = only({ REDEMPTION_VELOCITY_CARD: { enabled: true } });

  it('fires above the count and blocks by default', () => {
    expect(evaluateFraudRules(entry(), { card: { count: 5, amount: 5000 } }, settings)).toEqual([]);
    const [hit] = evaluateFraudRules(entry(), { card: { count: 6, amount: 6000 } }, settings);
    expect(hit).toMatchObject({ rule: 'REDEMPTION_VELOCITY_CARD', severity: 'HIGH', block: true });
    expect(hit?.detail).toContain('6 redemptions totalling 60.00 USD on this card within 10 min');
    expect(hit?.quiet).toEqual({ subject: `card#${CARD_ID}`, until: '2025-03-15T12:10:00.000Z' });
  });

  it('fires above the amount, even within the count', () => {
    const hits = evaluateFraudRules(entry(), { card: { count: 2, amount: 200_001 } }, settings);
    expect(rulesOf(hits)).toEqual(['REDEMPTION_VELOCITY_CARD']);
    expect(evaluateFraudRules(entry(), { card: { count: 2, amount: 200_000 } }, settings)).toEqual([]);
  });

  it('follows its settings: thresholds, window, block flag, off', () => {
    const custom = mergeFraudRules(settings, {
      REDEMPTION_VELOCITY_CARD: { maxCount: 2, windowMinutes: 3, block: false },
    });
    const [hit] = evaluateFraudRules(entry(), { card: { count: 3, amount: 300 } }, custom);
    expect(hit).toMatchObject({ block: false, quiet: { until: '2025-03-15T12:03:00.000Z' } });
    const off = mergeFraudRules(settings, { REDEMPTION_VELOCITY_CARD: { enabled: false } });
    expect(evaluateFraudRules(entry(), { card: { count: 99, amount: 1 } }, off)).toEqual([]);
  });

  it('looks at redemptions and captures only', () => {
    const counters = { card: { count: 9, amount: 9000 } };
    expect(rulesOf(evaluateFraudRules(entry({ type: 'CAPTURE' }), counters, settings))).toEqual([
      'REDEMPTION_VELOCITY_CARD',
    ]);
    expect(evaluateFraudRules(entry({ type: 'REFUND', amount: 100 }), counters, settings)).toEqual([]);
    expect(evaluateFraudRules(entry({ type: 'HOLD', amount: 0 }), counters, settings)).toEqual([]);
  });
});

describe('REDEMPTION_VELOCITY_MERCHANT', () => {
  const settings = only({ REDEMPTION_VELOCITY_MERCHANT: { enabled: true, maxCount: 3, maxAmount: 10_000 } });

  it('fires per merchant and program, without blocking by default', () => {
    const [hit] = evaluateFraudRules(entry(), { merchant: { count: 4, amount: 400 } }, settings);
    expect(hit).toMatchObject({
      rule: 'REDEMPTION_VELOCITY_MERCHANT',
      severity: 'MEDIUM',
      block: false,
      quiet: { subject: 'merchant#mer_a#prg_test' },
    });
    expect(hit?.detail).toContain('at merchant mer_a');
    expect(
      rulesOf(evaluateFraudRules(entry(), { merchant: { count: 1, amount: 10_001 } }, settings)),
    ).toEqual(['REDEMPTION_VELOCITY_MERCHANT']);
    expect(evaluateFraudRules(entry(), { merchant: { count: 3, amount: 10_000 } }, settings)).toEqual([]);
  });

  it('does not apply to staff redemptions (no merchant)', () => {
    const staff = entry({ merchantId: undefined, actor: { type: 'staff', id: 'u1' } });
    expect(evaluateFraudRules(staff, { merchant: { count: 99, amount: 1 } }, settings)).toEqual([]);
  });
});

describe('DRAIN_AFTER_ACTIVATION', () => {
  const settings = only({ DRAIN_AFTER_ACTIVATION: { enabled: true } });
  const activation = { activatedAt: '2025-03-15T11:50:00.000Z', activatedValue: 10_000 };

  it('fires when the share of the activated value is gone within the window', () => {
    const [hit] = evaluateFraudRules(entry(), { activation: { ...activation, drained: 9000 } }, settings);
    expect(hit).toMatchObject({ rule: 'DRAIN_AFTER_ACTIVATION', severity: 'HIGH', block: false });
    expect(hit?.detail).toContain('90.00 USD of the 100.00 USD activated');
    expect(hit?.detail).toContain('10 min after activation');
    expect(hit?.quiet).toEqual({ subject: `card#${CARD_ID}`, until: '2025-03-15T12:21:00.000Z' });
    expect(evaluateFraudRules(entry(), { activation: { ...activation, drained: 8999 } }, settings)).toEqual(
      [],
    );
  });

  it('counts transfers and cash-outs as drains; not after the window; not on empty activations', () => {
    const drained = { activation: { ...activation, drained: 10_000 } };
    expect(rulesOf(evaluateFraudRules(entry({ type: 'TRANSFER_OUT' }), drained, settings))).toEqual([
      'DRAIN_AFTER_ACTIVATION',
    ]);
    expect(rulesOf(evaluateFraudRules(entry({ type: 'CLEAR_BALANCE' }), drained, settings))).toEqual([
      'DRAIN_AFTER_ACTIVATION',
    ]);
    const late = entry({ createdAt: '2025-03-15T12:20:00.001Z' });
    expect(evaluateFraudRules(late, drained, settings)).toEqual([]);
    const atEdge = entry({ createdAt: '2025-03-15T12:20:00.000Z' });
    expect(evaluateFraudRules(atEdge, drained, settings)).toHaveLength(1);
    const empty = { activation: { ...activation, activatedValue: 0, drained: 0 } };
    expect(evaluateFraudRules(entry(), empty, settings)).toEqual([]);
    expect(evaluateFraudRules(entry({ type: 'LOAD', amount: 100 }), drained, settings)).toEqual([]);
  });

  it('follows percent, window and block settings', () => {
    const custom = mergeFraudRules(settings, {
      DRAIN_AFTER_ACTIVATION: { percent: 50, withinMinutes: 5, block: true },
    });
    const early = entry({ createdAt: '2025-03-15T11:54:00.000Z' });
    const [hit] = evaluateFraudRules(early, { activation: { ...activation, drained: 5000 } }, custom);
    expect(hit).toMatchObject({ block: true });
    expect(evaluateFraudRules(entry(), { activation: { ...activation, drained: 5000 } }, custom)).toEqual([]);
  });
});

describe('LARGE_LOAD', () => {
  const settings = only({ LARGE_LOAD: { enabled: true } });

  it('fires on a load above the threshold, alert only by default, every time', () => {
    const load = entry({ type: 'LOAD', amount: 25_001, merchantId: undefined });
    const [hit] = evaluateFraudRules(load, {}, settings);
    expect(hit).toMatchObject({ rule: 'LARGE_LOAD', severity: 'MEDIUM', block: false });
    expect(hit?.detail).toBe('A load of 250.01 USD (threshold: 250.00 USD).');
    expect(hit?.quiet).toBeUndefined();
    expect(evaluateFraudRules(entry({ type: 'LOAD', amount: 25_000 }), {}, settings)).toEqual([]);
  });

  it('takes the activated value of an activation (pre-loaded cards activate with amount 0)', () => {
    const activate = entry({ type: 'ACTIVATE', amount: 0, balanceAfter: 30_000 });
    expect(evaluateFraudRules(activate, {}, settings)[0]?.detail).toBe(
      'An activation of 300.00 USD (threshold: 250.00 USD).',
    );
    expect(evaluateFraudRules(entry({ type: 'TRANSFER_IN', amount: 99_999 }), {}, settings)).toEqual([]);
  });

  it('takes a refund that names no redemption as new value, and leaves money going back alone', () => {
    const blind = entry({ type: 'REFUND', amount: 90_000 });
    expect(evaluateFraudRules(blind, {}, settings)[0]?.detail).toBe(
      'A refund naming no redemption of 900.00 USD (threshold: 250.00 USD).',
    );
    const named = entry({ type: 'REFUND', amount: 90_000, relatedTransactionId: 'tx_x_2' });
    expect(evaluateFraudRules(named, {}, settings)).toEqual([]);
  });

  it('follows threshold and block settings', () => {
    const custom = mergeFraudRules(settings, { LARGE_LOAD: { threshold: 100, block: true } });
    expect(evaluateFraudRules(entry({ type: 'LOAD', amount: 101 }), {}, custom)[0]?.block).toBe(true);
  });
});

describe('MANY_MERCHANTS', () => {
  const settings = only({ MANY_MERCHANTS: { enabled: true } });

  it('fires above the number of distinct merchants in the window', () => {
    expect(evaluateFraudRules(entry(), { merchants: 5 }, settings)).toEqual([]);
    const [hit] = evaluateFraudRules(entry(), { merchants: 6 }, settings);
    expect(hit).toMatchObject({
      rule: 'MANY_MERCHANTS',
      block: false,
      quiet: { subject: `card#${CARD_ID}`, until: '2025-03-16T12:00:00.000Z' },
    });
    expect(hit?.detail).toContain('6 distinct merchants within 24 h');
  });

  it('follows its settings', () => {
    const custom = mergeFraudRules(settings, { MANY_MERCHANTS: { maxMerchants: 1, windowHours: 1 } });
    expect(evaluateFraudRules(entry(), { merchants: 2 }, custom)[0]?.quiet?.until).toBe(
      '2025-03-15T13:00:00.000Z',
    );
  });
});

describe('several rules at once', () => {
  it('reports every hit in a fixed order', () => {
    const hits = evaluateFraudRules(
      entry(),
      {
        card: { count: 6, amount: 600 },
        merchant: { count: 301, amount: 1 },
        activation: { activatedAt: '2025-03-15T11:59:00.000Z', activatedValue: 1000, drained: 1000 },
        merchants: 6,
      },
      rules,
    );
    expect(rulesOf(hits)).toEqual([
      'REDEMPTION_VELOCITY_CARD',
      'REDEMPTION_VELOCITY_MERCHANT',
      'DRAIN_AFTER_ACTIVATION',
      'MANY_MERCHANTS',
    ]);
  });
});

describe('FAILED_CHECKS_KEY', () => {
  it('fires once, on the failure that crosses the threshold', () => {
    expect(evaluateFailedChecks(19, 20, 20, 10)).toBeUndefined();
    expect(evaluateFailedChecks(20, 21, 20, 10)).toMatchObject({ rule: 'FAILED_CHECKS_KEY', block: false });
    expect(evaluateFailedChecks(0, 21, 20, 10)).toBeDefined();
    expect(evaluateFailedChecks(21, 22, 20, 10)).toBeUndefined();
  });
});

describe('alerts', () => {
  const alert: FraudAlert = {
    id: alertIdOf('LARGE_LOAD', 'tx_1'),
    rule: 'LARGE_LOAD',
    severity: 'MEDIUM',
    status: 'OPEN',
    detail: 'd',
    block: false,
    createdAt: NOW_ISO,
    updatedAt: NOW_ISO,
  };
  const step = { at: '2025-03-15T13:00:00.000Z', by: { type: 'staff' as const, id: 'u1' }, note: 'looking' };

  it('derive their id from rule and source', () => {
    expect(alert.id).toMatch(/^fa_[0-9a-z]{26}$/);
    expect(alertIdOf('LARGE_LOAD', 'tx_1')).toBe(alert.id);
    expect(alertIdOf('LARGE_LOAD', 'tx_2')).not.toBe(alert.id);
    expect(alertIdOf('DRAIN_AFTER_ACTIVATION', 'tx_1')).not.toBe(alert.id);
  });

  it('go OPEN -> ACKNOWLEDGED -> RESOLVED, recording who, when and why', () => {
    const acknowledged = planAlertStep(alert, 'ACKNOWLEDGE', step);
    expect(acknowledged).toMatchObject({ status: 'ACKNOWLEDGED', acknowledged: step, updatedAt: step.at });
    const resolved = planAlertStep(acknowledged, 'RESOLVE', { ...step, note: 'card holder confirmed' });
    expect(resolved).toMatchObject({ status: 'RESOLVED', acknowledged: step });
    expect(resolved.resolved?.note).toBe('card holder confirmed');
    expect(planAlertStep(alert, 'RESOLVE', step).status).toBe('RESOLVED');
  });

  it('refuse steps their status does not allow', () => {
    const acknowledged = planAlertStep(alert, 'ACKNOWLEDGE', step);
    const resolved = planAlertStep(acknowledged, 'RESOLVE', step);
    for (const [from, action] of [
      [acknowledged, 'ACKNOWLEDGE'],
      [resolved, 'ACKNOWLEDGE'],
      [resolved, 'RESOLVE'],
    ] as const) {
      expect(() => planAlertStep(from, action, step)).toThrow(DomainError);
      try {
        planAlertStep(from, action, step);
      } catch (error) {
        expect((error as DomainError).code).toBe('CONFLICT');
      }
    }
  });
});
