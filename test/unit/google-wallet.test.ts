import { describe, expect, it } from 'vitest';
import type { Card } from '../../functions/core/card';
import {
  decideMessageType,
  decisionsToKeep,
  GOOGLE_NOTIFY_LIMIT,
  googleBalanceFields,
  googleGiftCardObject,
  googleObjectState,
  type NotifyDecision,
  toMicros,
} from '../../functions/core/google-wallet';

const now = new Date('2026-11-26T12:00:00.000Z');

const card = (overrides: Partial<Card> = {}): Card => ({
  id: `gc_${'a'.repeat(26)}`,
  programId: `prg_${'b'.repeat(26)}`,
  type: 'DIGITAL',
  status: 'ACTIVE',
  currency: 'USD',
  balance: 2500,
  available: 2500,
  last4: '4242',
  seq: 2,
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-26T11:59:00.000Z',
  ...overrides,
});

describe('minor units to Google micros', () => {
  it('scales by the currency exponent exactly', () => {
    expect(toMicros(2500, 'USD')).toBe('25000000');
    expect(toMicros(1, 'USD')).toBe('10000');
    // JPY has no minor unit: 1500 yen are 1500 major units.
    expect(toMicros(1500, 'JPY')).toBe('1500000000');
    // KWD has three decimals: 1234 fils are 1.234 dinars.
    expect(toMicros(1234, 'KWD')).toBe('1234000');
    expect(toMicros(1, 'KWD')).toBe('1000');
    expect(toMicros(0, 'EUR')).toBe('0');
  });

  it('stays exact beyond 2^53 micros (largest balance in a 0-decimal currency)', () => {
    expect(toMicros(1_000_000_000_000, 'JPY')).toBe('1000000000000000000');
    expect(toMicros(999_999_999_999, 'USD')).toBe('9999999999990000');
  });

  it('refuses fractions and unknown currencies', () => {
    expect(() => toMicros(12.5, 'USD')).toThrow();
    expect(() => toMicros(100, 'XXX')).toThrow();
  });
});

describe('the gift card object', () => {
  it('shows the balance, its time and state, and only the last four of the code', () => {
    const object = googleGiftCardObject(
      { issuerId: '3388000000000000001', issuerName: 'Shop' },
      card(),
      'gc_x',
      now,
    );
    expect(object).toMatchObject({
      id: `3388000000000000001.gc_${'a'.repeat(26)}`,
      classId: `3388000000000000001.prg_${'b'.repeat(26)}`,
      cardNumber: '**** 4242',
      balance: { micros: '25000000', currencyCode: 'USD' },
      balanceUpdateTime: { date: '2026-11-26T11:59:00.000Z' },
      state: 'ACTIVE',
      barcode: { type: 'QR_CODE', value: 'gc_x' },
    });
  });

  it('maps card states: active, inactive (pending, blocked, deactivated), expired', () => {
    expect(googleObjectState(card(), now)).toBe('ACTIVE');
    expect(googleObjectState(card({ status: 'PENDING' }), now)).toBe('INACTIVE');
    expect(googleObjectState(card({ status: 'BLOCKED' }), now)).toBe('INACTIVE');
    expect(googleObjectState(card({ status: 'DEACTIVATED' }), now)).toBe('INACTIVE');
    expect(googleObjectState(card({ expiresAt: '2026-11-26T00:00:00.000Z' }), now)).toBe('EXPIRED');
    expect(googleBalanceFields(card({ balance: 0, currency: 'KWD' }), now).balance).toEqual({
      micros: '0',
      currencyCode: 'KWD',
    });
  });
});

describe('three notifying messages a day', () => {
  const decision = (hoursAgo: number, type: NotifyDecision['type'], id = `m${hoursAgo}`): NotifyDecision => ({
    messageId: id,
    at: new Date(now.getTime() - hoursAgo * 3_600_000).toISOString(),
    type,
  });

  it('notifies while fewer than three notified in the last 24 h', () => {
    expect(GOOGLE_NOTIFY_LIMIT).toBe(3);
    expect(decideMessageType([], now)).toBe('TEXT_AND_NOTIFY');
    const two = [decision(1, 'TEXT_AND_NOTIFY'), decision(2, 'TEXT_AND_NOTIFY'), decision(3, 'TEXT')];
    expect(decideMessageType(two, now)).toBe('TEXT_AND_NOTIFY');
    const three = [...two, decision(4, 'TEXT_AND_NOTIFY')];
    expect(decideMessageType(three, now)).toBe('TEXT');
  });

  it('frees a slot once a notification is 24 h old, and counts the class messages too', () => {
    const old = [
      decision(25, 'TEXT_AND_NOTIFY'),
      decision(2, 'TEXT_AND_NOTIFY'),
      decision(3, 'TEXT_AND_NOTIFY'),
    ];
    expect(decideMessageType(old, now)).toBe('TEXT_AND_NOTIFY');
    expect(decideMessageType([decision(2, 'TEXT_AND_NOTIFY')], now, 2)).toBe('TEXT');
  });

  it('remembers decisions for 48 h so late replays find theirs', () => {
    const kept = decisionsToKeep([decision(47, 'TEXT'), decision(49, 'TEXT_AND_NOTIFY')], now);
    expect(kept.map((d) => d.messageId)).toEqual(['m47']);
  });
});
