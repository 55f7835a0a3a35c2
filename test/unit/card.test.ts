import { describe, expect, it } from 'vitest';
import {
  type Card,
  type CardOperation,
  type CardStatus,
  displayStatus,
  isExpired,
  planIssue,
  planOperation,
} from '../../functions/core/card';
import { transactionId } from '../../functions/core/ledger';
import { MAX_AMOUNT } from '../../functions/core/money';
import type { Program } from '../../functions/core/program';
import {
  CARD_ID,
  domainErrorOf,
  EARLIER_ISO,
  errorCodeOf,
  makeCard,
  makeProgram,
  merchantContext,
  NOW,
  NOW_ISO,
  staffContext,
} from './domain-fixtures';

const PAST = '2025-03-15T11:59:59.999Z';
const FUTURE = '2026-01-01T00:00:00.000Z';
const ALL_STATUSES: readonly CardStatus[] = ['PENDING', 'ACTIVE', 'BLOCKED', 'DEACTIVATED'];

/** Staff state changes carry a reason (core/card-policy.ts); these tests give one unless they test it. */
const STAFF_REASON = new Set(['BLOCK', 'UNBLOCK', 'DEACTIVATE', 'CLEAR_BALANCE']);
const withReason = (operation: CardOperation): CardOperation =>
  STAFF_REASON.has(operation.type) && !('reason' in operation && operation.reason)
    ? ({ ...operation, reason: 'test' } as CardOperation)
    : operation;
const plan = (card: Card, operation: CardOperation, program: Program = makeProgram()) =>
  planOperation(card, program, withReason(operation), staffContext());

describe('isExpired', () => {
  it('is false for a card without an expiry date', () => {
    expect(isExpired({}, NOW)).toBe(false);
  });

  it('is false before the expiry instant', () => {
    expect(isExpired({ expiresAt: FUTURE }, NOW)).toBe(false);
    expect(isExpired({ expiresAt: '2025-03-15T12:00:00.001Z' }, NOW)).toBe(false);
  });

  it('is true at the expiry instant and after it', () => {
    expect(isExpired({ expiresAt: NOW_ISO }, NOW)).toBe(true);
    expect(isExpired({ expiresAt: PAST }, NOW)).toBe(true);
    expect(isExpired({ expiresAt: '2020-01-01T00:00:00.000Z' }, NOW)).toBe(true);
  });
});

describe('displayStatus', () => {
  it.each(ALL_STATUSES)('shows %s as is when the card has not expired', (status) => {
    expect(displayStatus(makeCard({ status }), NOW)).toBe(status);
    expect(displayStatus(makeCard({ status, expiresAt: FUTURE }), NOW)).toBe(status);
  });

  it.each(['PENDING', 'ACTIVE', 'BLOCKED'] as const)('shows an expired %s card as EXPIRED', (status) => {
    expect(displayStatus(makeCard({ status, expiresAt: PAST }), NOW)).toBe('EXPIRED');
    expect(displayStatus(makeCard({ status, expiresAt: NOW_ISO }), NOW)).toBe('EXPIRED');
  });

  it('keeps DEACTIVATED (final) even after the expiry date', () => {
    expect(displayStatus(makeCard({ status: 'DEACTIVATED', expiresAt: PAST }), NOW)).toBe('DEACTIVATED');
  });
});

describe('planIssue', () => {
  const input = {
    cardId: CARD_ID,
    last4: '1486',
    type: 'DIGITAL' as const,
    amount: 2500,
    activate: true,
  };

  it('issues and activates at once: ISSUE with no value, then ACTIVATE carrying the amount', () => {
    const { card, entries } = planIssue(makeProgram(), input, staffContext());
    expect(card).toMatchObject({
      id: CARD_ID,
      programId: 'prg_test',
      type: 'DIGITAL',
      status: 'ACTIVE',
      currency: 'USD',
      balance: 2500,
      available: 2500,
      last4: '1486',
      seq: 2,
      createdAt: NOW_ISO,
      updatedAt: NOW_ISO,
      activatedAt: NOW_ISO,
    });
    expect(card.expiresAt).toBeUndefined();
    expect(card.merchantId).toBeUndefined();
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      id: transactionId(CARD_ID, 1),
      cardId: CARD_ID,
      programId: 'prg_test',
      seq: 1,
      type: 'ISSUE',
      amount: 0,
      currency: 'USD',
      balanceAfter: 0,
      availableAfter: 0,
      createdAt: NOW_ISO,
    });
    expect(entries[1]).toMatchObject({
      id: transactionId(CARD_ID, 2),
      seq: 2,
      type: 'ACTIVATE',
      amount: 2500,
      balanceAfter: 2500,
      availableAfter: 2500,
    });
    expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(card.balance);
  });

  it('issues a PENDING card with the value pre-loaded when not activated', () => {
    const { card, entries } = planIssue(makeProgram(), { ...input, activate: false }, staffContext());
    expect(card).toMatchObject({ status: 'PENDING', balance: 2500, available: 2500, seq: 1 });
    expect(card.activatedAt).toBeUndefined();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ seq: 1, type: 'ISSUE', amount: 2500, balanceAfter: 2500 });
  });

  it('issues an empty PENDING card, even below the program minimum load', () => {
    const { card, entries } = planIssue(
      makeProgram({ minLoad: 1000 }),
      { ...input, amount: 0, activate: false },
      staffContext(),
    );
    expect(card).toMatchObject({ status: 'PENDING', balance: 0, available: 0, seq: 1 });
    expect(entries.map((entry) => [entry.type, entry.amount])).toEqual([['ISSUE', 0]]);
  });

  it('activates an empty card at once without applying the minimum load', () => {
    const { card, entries } = planIssue(
      makeProgram({ minLoad: 1000 }),
      { ...input, amount: 0 },
      staffContext(),
    );
    expect(card).toMatchObject({ status: 'ACTIVE', balance: 0, seq: 2 });
    expect(entries.map((entry) => [entry.type, entry.amount])).toEqual([
      ['ISSUE', 0],
      ['ACTIVATE', 0],
    ]);
  });

  it('issues in the program currency, including 0- and 3-decimal currencies', () => {
    const jpy = planIssue(
      makeProgram({ currency: 'JPY', minLoad: 1, maxLoad: 50_000 }),
      input,
      staffContext(),
    );
    expect(jpy.card.currency).toBe('JPY');
    expect(jpy.entries.every((entry) => entry.currency === 'JPY')).toBe(true);
    const kwd = planIssue(makeProgram({ currency: 'KWD' }), input, staffContext());
    expect(kwd.card.currency).toBe('KWD');
  });

  it('records the issuing merchant on the card and on the entries', () => {
    const { card, entries } = planIssue(
      makeProgram(),
      input,
      merchantContext({ request: { channel: 'POS', reference: 'order-7', locationId: 'store-1' } }),
    );
    expect(card.merchantId).toBe('mer_1');
    for (const entry of entries) {
      expect(entry).toMatchObject({
        merchantId: 'mer_1',
        channel: 'POS',
        reference: 'order-7',
        locationId: 'store-1',
        actor: { type: 'merchant', id: 'mer_1', keyId: 'key_1' },
      });
    }
  });

  it('carries the customer, the recipient and the metadata', () => {
    const { card } = planIssue(
      makeProgram(),
      {
        ...input,
        customerId: 'cus_1',
        recipient: { name: 'Ada', email: 'ada@example.com', message: 'Happy birthday' },
        metadata: { campaign: 'spring', wave: 2, vip: true },
      },
      staffContext(),
    );
    expect(card.customerId).toBe('cus_1');
    expect(card.recipient).toEqual({ name: 'Ada', email: 'ada@example.com', message: 'Happy birthday' });
    expect(card.metadata).toEqual({ campaign: 'spring', wave: 2, vip: true });
  });

  it('sets the expiry from the program policy', () => {
    const issue = (program: Program, activate = true) =>
      planIssue(program, { ...input, activate }, staffContext()).card.expiresAt;
    expect(issue(makeProgram({ expiryPolicy: { type: 'NONE' } }))).toBeUndefined();
    expect(issue(makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 12 } }))).toBe(
      '2026-03-15T12:00:00.000Z',
    );
    expect(issue(makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 12 } }), false)).toBe(
      '2026-03-15T12:00:00.000Z',
    );
    expect(issue(makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 6 } }))).toBe(
      '2025-09-15T12:00:00.000Z',
    );
    expect(issue(makeProgram({ expiryPolicy: { type: 'US_CARD_ACT' } }))).toBe('2030-03-15T12:00:00.000Z');
  });

  it('refuses an amount outside the program load limits', () => {
    const program = makeProgram({ minLoad: 1000, maxLoad: 50_000 });
    expect(errorCodeOf(() => planIssue(program, { ...input, amount: 999 }, staffContext()))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(errorCodeOf(() => planIssue(program, { ...input, amount: 50_001 }, staffContext()))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(
      errorCodeOf(() => planIssue(program, { ...input, amount: 50_001, activate: false }, staffContext())),
    ).toBe('LIMIT_EXCEEDED');
    expect(planIssue(program, { ...input, amount: 1000 }, staffContext()).card.balance).toBe(1000);
    expect(planIssue(program, { ...input, amount: 50_000 }, staffContext()).card.balance).toBe(50_000);
  });

  it('refuses an amount above the program maximum balance', () => {
    const program = makeProgram({ maxLoad: 10_000, maxBalance: 5000 });
    expect(errorCodeOf(() => planIssue(program, { ...input, amount: 5001 }, staffContext()))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(planIssue(program, { ...input, amount: 5000 }, staffContext()).card.balance).toBe(5000);
  });

  it.each([-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_AMOUNT + 1])(
    'refuses the malformed amount %s as VALIDATION_FAILED on the amount field',
    (amount) => {
      const error = domainErrorOf(() => planIssue(makeProgram(), { ...input, amount }, staffContext()));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.status).toBe(400);
      expect(error.fieldErrors?.map((fieldError) => fieldError.field)).toEqual(['amount']);
    },
  );

  it('refuses a caller that expects another currency', () => {
    expect(errorCodeOf(() => planIssue(makeProgram(), input, staffContext({ currency: 'EUR' })))).toBe(
      'CURRENCY_MISMATCH',
    );
    expect(planIssue(makeProgram(), input, staffContext({ currency: 'USD' })).card.balance).toBe(2500);
  });
});

describe('planOperation: common rules', () => {
  const operations: CardOperation[] = [
    { type: 'ACTIVATE', amount: 0 },
    { type: 'LOAD', amount: 1000 },
    { type: 'REDEEM', amount: 1000 },
    { type: 'ADJUST', amount: 100, reason: 'goodwill' },
    { type: 'BLOCK' },
    { type: 'UNBLOCK' },
    { type: 'DEACTIVATE' },
  ];

  it.each(operations)('refuses $type when the caller names another currency', (operation) => {
    const context = staffContext({ currency: 'EUR' });
    expect(errorCodeOf(() => planOperation(makeCard(), makeProgram(), operation, context))).toBe(
      'CURRENCY_MISMATCH',
    );
  });

  it('accepts the card currency when the caller names it', () => {
    const { card } = planOperation(
      makeCard(),
      makeProgram(),
      { type: 'LOAD', amount: 1000 },
      staffContext({ currency: 'USD' }),
    );
    expect(card.balance).toBe(6000);
  });

  it('numbers the entry after the card sequence and names it by card and sequence', () => {
    const { card, entry, guard } = plan(makeCard({ seq: 41 }), { type: 'LOAD', amount: 1000 });
    expect(entry.seq).toBe(42);
    expect(entry.id).toBe(transactionId(CARD_ID, 42));
    expect(entry.id).toBe('tx_0123456789abcdefghjkmnpqrs_42');
    expect(card.seq).toBe(42);
    expect(guard.expectedSeq).toBe(41);
    expect(guard.currency).toBe('USD');
  });

  it('stamps the card and the entry with the operation time', () => {
    const { card, entry } = plan(makeCard(), { type: 'LOAD', amount: 1000 });
    expect(card.updatedAt).toBe(NOW_ISO);
    expect(card.createdAt).toBe(EARLIER_ISO);
    expect(entry.createdAt).toBe(NOW_ISO);
  });

  it('records a staff actor on the CONSOLE channel by default, with no merchant', () => {
    const { entry } = plan(makeCard(), { type: 'LOAD', amount: 1000 });
    expect(entry.actor).toEqual({ type: 'staff', id: 'staff-1', role: 'support' });
    expect(entry.channel).toBe('CONSOLE');
    expect(entry.merchantId).toBeUndefined();
    expect(entry).not.toHaveProperty('reason');
    expect(entry).not.toHaveProperty('reference');
    expect(entry).not.toHaveProperty('locationId');
    expect(entry).not.toHaveProperty('terminalId');
    expect(entry).not.toHaveProperty('relatedTransactionId');
  });

  it('records a merchant actor with its merchant id, on the API channel by default', () => {
    const { entry } = planOperation(
      makeCard(),
      makeProgram(),
      { type: 'LOAD', amount: 1000 },
      merchantContext(),
    );
    expect(entry.merchantId).toBe('mer_1');
    expect(entry.channel).toBe('API');
  });

  it('records where the caller says it happened', () => {
    const { entry } = planOperation(
      makeCard(),
      makeProgram(),
      { type: 'REDEEM', amount: 1000 },
      merchantContext({
        request: { channel: 'POS', locationId: 'store-12', terminalId: 'till-3', reference: 'rcpt-99' },
      }),
    );
    expect(entry).toMatchObject({
      channel: 'POS',
      locationId: 'store-12',
      terminalId: 'till-3',
      reference: 'rcpt-99',
    });
  });

  it('never changes the card it was given (the card is frozen; a mutation would throw)', () => {
    const card = makeCard({ status: 'BLOCKED', statusReason: 'lost' });
    const before = structuredClone(card);
    plan(card, { type: 'UNBLOCK' });
    plan(card, { type: 'ADJUST', amount: -100, reason: 'fix' });
    plan(card, { type: 'DEACTIVATE', reason: 'stolen' });
    expect(card).toEqual(before);
  });
});

describe('planOperation: ACTIVATE', () => {
  const pending = (overrides: Partial<Card> = {}) =>
    makeCard({ status: 'PENDING', balance: 0, available: 0, seq: 1, activatedAt: undefined, ...overrides });

  it('activates a pending card with value', () => {
    const { card, entry, guard } = plan(pending(), { type: 'ACTIVATE', amount: 2500 });
    expect(card).toMatchObject({
      status: 'ACTIVE',
      balance: 2500,
      available: 2500,
      seq: 2,
      activatedAt: NOW_ISO,
    });
    expect(entry).toMatchObject({
      type: 'ACTIVATE',
      amount: 2500,
      balanceAfter: 2500,
      availableAfter: 2500,
      seq: 2,
    });
    expect(guard).toEqual({ expectedSeq: 1, currency: 'USD', status: 'PENDING', notExpiredAt: NOW_ISO });
  });

  it('activates a card with pre-loaded value without adding any', () => {
    const { card, entry } = plan(pending({ balance: 3000, available: 3000 }), {
      type: 'ACTIVATE',
      amount: 0,
    });
    expect(card).toMatchObject({ status: 'ACTIVE', balance: 3000, available: 3000 });
    expect(entry).toMatchObject({ type: 'ACTIVATE', amount: 0, balanceAfter: 3000, availableAfter: 3000 });
  });

  it('adds the activation value to a pre-loaded balance', () => {
    const { card, entry } = plan(pending({ balance: 3000, available: 3000 }), {
      type: 'ACTIVATE',
      amount: 2000,
    });
    expect(card.balance).toBe(5000);
    expect(entry).toMatchObject({ amount: 2000, balanceAfter: 5000 });
  });

  it.each(['ACTIVE', 'BLOCKED', 'DEACTIVATED'] as const)('refuses a %s card as CONFLICT', (status) => {
    expect(errorCodeOf(() => plan(makeCard({ status }), { type: 'ACTIVATE', amount: 0 }))).toBe('CONFLICT');
  });

  it('refuses an expired pending card', () => {
    expect(errorCodeOf(() => plan(pending({ expiresAt: PAST }), { type: 'ACTIVATE', amount: 1000 }))).toBe(
      'CARD_EXPIRED',
    );
    expect(errorCodeOf(() => plan(pending({ expiresAt: NOW_ISO }), { type: 'ACTIVATE', amount: 0 }))).toBe(
      'CARD_EXPIRED',
    );
  });

  it('applies the load limits to a non-zero activation value', () => {
    const program = makeProgram({ minLoad: 1000, maxLoad: 5000, maxBalance: 8000 });
    expect(errorCodeOf(() => plan(pending(), { type: 'ACTIVATE', amount: 999 }, program))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(errorCodeOf(() => plan(pending(), { type: 'ACTIVATE', amount: 5001 }, program))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(
      errorCodeOf(() =>
        plan(pending({ balance: 4000, available: 4000 }), { type: 'ACTIVATE', amount: 4001 }, program),
      ),
    ).toBe('LIMIT_EXCEEDED');
    expect(
      plan(pending({ balance: 4000, available: 4000 }), { type: 'ACTIVATE', amount: 4000 }, program).card
        .balance,
    ).toBe(8000);
  });

  it.each([-1, 1.5, Number.NaN])('refuses the malformed amount %s', (amount) => {
    expect(errorCodeOf(() => plan(pending(), { type: 'ACTIVATE', amount }))).toBe('VALIDATION_FAILED');
  });

  it('restarts a last-load expiry when value arrives, and keeps it when none does', () => {
    const program = makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 6 } });
    expect(
      plan(pending({ expiresAt: '2025-04-01T00:00:00.000Z' }), { type: 'ACTIVATE', amount: 1000 }, program)
        .card.expiresAt,
    ).toBe('2025-09-15T12:00:00.000Z');
    // An expiry only ever moves later: a card that already runs past the new date keeps its own.
    expect(
      plan(pending({ expiresAt: FUTURE }), { type: 'ACTIVATE', amount: 1000 }, program).card.expiresAt,
    ).toBe(FUTURE);
    expect(
      plan(pending({ expiresAt: FUTURE }), { type: 'ACTIVATE', amount: 0 }, program).card.expiresAt,
    ).toBe(FUTURE);
  });

  it('keeps an issue-based expiry', () => {
    const program = makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 12 } });
    expect(
      plan(pending({ expiresAt: FUTURE }), { type: 'ACTIVATE', amount: 1000 }, program).card.expiresAt,
    ).toBe(FUTURE);
  });
});

describe('planOperation: LOAD', () => {
  it('adds to balance and available and writes a LOAD entry', () => {
    const { card, entry, guard } = plan(makeCard(), { type: 'LOAD', amount: 1500 });
    expect(card).toMatchObject({ status: 'ACTIVE', balance: 6500, available: 6500, seq: 4 });
    expect(entry).toMatchObject({
      type: 'LOAD',
      amount: 1500,
      balanceAfter: 6500,
      availableAfter: 6500,
      seq: 4,
      currency: 'USD',
      cardId: CARD_ID,
      programId: 'prg_test',
    });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', status: 'ACTIVE', notExpiredAt: NOW_ISO });
  });

  it('keeps held funds out of available', () => {
    const { card, entry } = plan(makeCard({ balance: 5000, available: 2000 }), {
      type: 'LOAD',
      amount: 1000,
    });
    expect(card).toMatchObject({ balance: 6000, available: 3000 });
    expect(entry).toMatchObject({ balanceAfter: 6000, availableAfter: 3000 });
  });

  it.each([
    ['PENDING', 'CARD_NOT_ACTIVE'],
    ['BLOCKED', 'CARD_BLOCKED'],
    ['DEACTIVATED', 'CARD_NOT_ACTIVE'],
  ] as const)('refuses a %s card with %s', (status, code) => {
    expect(errorCodeOf(() => plan(makeCard({ status }), { type: 'LOAD', amount: 1000 }))).toBe(code);
  });

  it('refuses an expired card, and reports a blocked expired card as blocked', () => {
    expect(errorCodeOf(() => plan(makeCard({ expiresAt: PAST }), { type: 'LOAD', amount: 1000 }))).toBe(
      'CARD_EXPIRED',
    );
    expect(
      errorCodeOf(() =>
        plan(makeCard({ status: 'BLOCKED', expiresAt: PAST }), { type: 'LOAD', amount: 1000 }),
      ),
    ).toBe('CARD_BLOCKED');
  });

  it('loads a card that expires later', () => {
    expect(plan(makeCard({ expiresAt: FUTURE }), { type: 'LOAD', amount: 1000 }).card.balance).toBe(6000);
  });

  it('applies the min and max load, both inclusive', () => {
    const program = makeProgram({ minLoad: 500, maxLoad: 20_000 });
    expect(errorCodeOf(() => plan(makeCard(), { type: 'LOAD', amount: 499 }, program))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(errorCodeOf(() => plan(makeCard(), { type: 'LOAD', amount: 20_001 }, program))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(plan(makeCard(), { type: 'LOAD', amount: 500 }, program).card.balance).toBe(5500);
    expect(plan(makeCard(), { type: 'LOAD', amount: 20_000 }, program).card.balance).toBe(25_000);
  });

  it('applies the max balance on the balance (held funds included), inclusive', () => {
    const program = makeProgram({ maxBalance: 10_000 });
    const card = makeCard({ balance: 8000, available: 1000 });
    expect(plan(card, { type: 'LOAD', amount: 2000 }, program).card.balance).toBe(10_000);
    const error = domainErrorOf(() => plan(card, { type: 'LOAD', amount: 2001 }, program));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.status).toBe(422);
  });

  it.each([0, -100, 10.5, Number.NaN, MAX_AMOUNT + 1])('refuses the malformed amount %s', (amount) => {
    const error = domainErrorOf(() => plan(makeCard(), { type: 'LOAD', amount }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fieldErrors).toEqual([{ field: 'amount', message: expect.any(String) }]);
  });

  it('moves the expiry under each policy', () => {
    const load = (program: Program, expiresAt?: string) =>
      plan(makeCard({ expiresAt }), { type: 'LOAD', amount: 1000 }, program).card.expiresAt;
    expect(load(makeProgram({ expiryPolicy: { type: 'NONE' } }))).toBeUndefined();
    expect(load(makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 12 } }), FUTURE)).toBe(
      FUTURE,
    );
    expect(
      load(
        makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 3 } }),
        '2025-04-01T00:00:00.000Z',
      ),
    ).toBe('2025-06-15T12:00:00.000Z');
    // Never earlier than the card already had (a shortened program, an earlier longer promise).
    expect(load(makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 3 } }), FUTURE)).toBe(
      FUTURE,
    );
    expect(load(makeProgram({ expiryPolicy: { type: 'US_CARD_ACT' } }), FUTURE)).toBe(
      '2030-03-15T12:00:00.000Z',
    );
  });
});

describe('planOperation: REDEEM', () => {
  it('takes the amount from balance and available, with a negative entry', () => {
    const { card, entry, guard } = plan(makeCard(), { type: 'REDEEM', amount: 1200 });
    expect(card).toMatchObject({ balance: 3800, available: 3800, seq: 4, status: 'ACTIVE' });
    expect(entry).toMatchObject({
      type: 'REDEEM',
      amount: -1200,
      balanceAfter: 3800,
      availableAfter: 3800,
      seq: 4,
    });
    expect(guard).toEqual({
      expectedSeq: 3,
      currency: 'USD',
      status: 'ACTIVE',
      notExpiredAt: NOW_ISO,
      minAvailable: 1200,
    });
  });

  it('redeems the whole available balance down to zero', () => {
    const { card, entry } = plan(makeCard(), { type: 'REDEEM', amount: 5000 });
    expect(card).toMatchObject({ balance: 0, available: 0 });
    expect(entry).toMatchObject({ amount: -5000, balanceAfter: 0, availableAfter: 0 });
  });

  it('refuses more than available with INSUFFICIENT_FUNDS', () => {
    expect(errorCodeOf(() => plan(makeCard(), { type: 'REDEEM', amount: 5001 }))).toBe('INSUFFICIENT_FUNDS');
    expect(
      errorCodeOf(() => plan(makeCard({ balance: 0, available: 0 }), { type: 'REDEEM', amount: 1 })),
    ).toBe('INSUFFICIENT_FUNDS');
  });

  it('cannot spend held funds', () => {
    const card = makeCard({ balance: 5000, available: 3000 });
    expect(errorCodeOf(() => plan(card, { type: 'REDEEM', amount: 3001 }))).toBe('INSUFFICIENT_FUNDS');
    const { card: after, entry } = plan(card, { type: 'REDEEM', amount: 3000 });
    expect(after).toMatchObject({ balance: 2000, available: 0 });
    expect(entry).toMatchObject({ amount: -3000, balanceAfter: 2000, availableAfter: 0 });
  });

  describe('allowPartial', () => {
    it('takes what is available when the request is larger', () => {
      const { card, entry, guard } = plan(makeCard(), { type: 'REDEEM', amount: 8000, allowPartial: true });
      expect(card).toMatchObject({ balance: 0, available: 0 });
      expect(entry).toMatchObject({ type: 'REDEEM', amount: -5000, balanceAfter: 0, availableAfter: 0 });
      expect(guard.minAvailable).toBe(5000);
    });

    it('takes the full request when it is covered', () => {
      const { card, entry, guard } = plan(makeCard(), { type: 'REDEEM', amount: 1200, allowPartial: true });
      expect(card.balance).toBe(3800);
      expect(entry.amount).toBe(-1200);
      expect(guard.minAvailable).toBe(1200);
    });

    it('takes only the available part when funds are held', () => {
      const { card, entry } = plan(makeCard({ balance: 5000, available: 2000 }), {
        type: 'REDEEM',
        amount: 4000,
        allowPartial: true,
      });
      expect(card).toMatchObject({ balance: 3000, available: 0 });
      expect(entry).toMatchObject({ amount: -2000, balanceAfter: 3000, availableAfter: 0 });
    });

    it('refuses when nothing is available', () => {
      expect(
        errorCodeOf(() =>
          plan(makeCard({ balance: 0, available: 0 }), { type: 'REDEEM', amount: 100, allowPartial: true }),
        ),
      ).toBe('INSUFFICIENT_FUNDS');
      expect(
        errorCodeOf(() =>
          plan(makeCard({ balance: 700, available: 0 }), { type: 'REDEEM', amount: 100, allowPartial: true }),
        ),
      ).toBe('INSUFFICIENT_FUNDS');
    });

    it('still refuses a malformed amount', () => {
      expect(errorCodeOf(() => plan(makeCard(), { type: 'REDEEM', amount: 0, allowPartial: true }))).toBe(
        'VALIDATION_FAILED',
      );
      expect(errorCodeOf(() => plan(makeCard(), { type: 'REDEEM', amount: -5, allowPartial: true }))).toBe(
        'VALIDATION_FAILED',
      );
    });
  });

  it.each([
    ['PENDING', 'CARD_NOT_ACTIVE'],
    ['BLOCKED', 'CARD_BLOCKED'],
    ['DEACTIVATED', 'CARD_NOT_ACTIVE'],
  ] as const)('refuses a %s card with %s', (status, code) => {
    expect(errorCodeOf(() => plan(makeCard({ status }), { type: 'REDEEM', amount: 100 }))).toBe(code);
  });

  it('refuses an expired card, even one with value', () => {
    expect(errorCodeOf(() => plan(makeCard({ expiresAt: NOW_ISO }), { type: 'REDEEM', amount: 100 }))).toBe(
      'CARD_EXPIRED',
    );
  });

  it('checks the card state before the funds', () => {
    expect(
      errorCodeOf(() =>
        plan(makeCard({ status: 'BLOCKED', balance: 0, available: 0 }), { type: 'REDEEM', amount: 100 }),
      ),
    ).toBe('CARD_BLOCKED');
  });

  it.each([0, -1, 0.01, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses the malformed amount %s',
    (amount) => {
      expect(errorCodeOf(() => plan(makeCard(), { type: 'REDEEM', amount }))).toBe('VALIDATION_FAILED');
    },
  );

  it('leaves the expiry date alone', () => {
    const program = makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 3 } });
    expect(
      plan(makeCard({ expiresAt: FUTURE }), { type: 'REDEEM', amount: 100 }, program).card.expiresAt,
    ).toBe(FUTURE);
  });
});

describe('planOperation: ADJUST', () => {
  it('credits with ADJUST_INCREMENT and the reason, guarded by sequence only', () => {
    const { card, entry, guard } = plan(makeCard(), { type: 'ADJUST', amount: 750, reason: 'goodwill' });
    expect(card).toMatchObject({ balance: 5750, available: 5750, status: 'ACTIVE', seq: 4 });
    expect(entry).toMatchObject({
      type: 'ADJUST_INCREMENT',
      amount: 750,
      balanceAfter: 5750,
      availableAfter: 5750,
      reason: 'goodwill',
    });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD' });
  });

  it('debits with ADJUST_DECREMENT, guarded by the available funds', () => {
    const { card, entry, guard } = plan(makeCard(), {
      type: 'ADJUST',
      amount: -750,
      reason: 'duplicate load',
    });
    expect(card).toMatchObject({ balance: 4250, available: 4250 });
    expect(entry).toMatchObject({
      type: 'ADJUST_DECREMENT',
      amount: -750,
      balanceAfter: 4250,
      reason: 'duplicate load',
    });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', minAvailable: 750 });
  });

  it('may take the available balance to exactly zero but not below', () => {
    const card = makeCard({ balance: 5000, available: 4000 });
    expect(plan(card, { type: 'ADJUST', amount: -4000, reason: 'x' }).card).toMatchObject({
      balance: 1000,
      available: 0,
    });
    expect(errorCodeOf(() => plan(card, { type: 'ADJUST', amount: -4001, reason: 'x' }))).toBe(
      'INSUFFICIENT_FUNDS',
    );
  });

  it.each(['PENDING', 'ACTIVE', 'BLOCKED'] as const)('adjusts a %s card and keeps its status', (status) => {
    const { card } = plan(makeCard({ status }), { type: 'ADJUST', amount: 100, reason: 'fix' });
    expect(card.status).toBe(status);
    expect(card.balance).toBe(5100);
  });

  it('adjusts an expired card', () => {
    expect(
      plan(makeCard({ expiresAt: PAST }), { type: 'ADJUST', amount: -100, reason: 'fix' }).card.balance,
    ).toBe(4900);
  });

  it('refuses a DEACTIVATED card', () => {
    expect(
      errorCodeOf(() =>
        plan(makeCard({ status: 'DEACTIVATED' }), { type: 'ADJUST', amount: 100, reason: 'x' }),
      ),
    ).toBe('CARD_NOT_ACTIVE');
  });

  it.each([0, 1.5, -0.5, Number.NaN, MAX_AMOUNT + 1, -(MAX_AMOUNT + 1)])(
    'refuses the malformed amount %s',
    (amount) => {
      const error = domainErrorOf(() => plan(makeCard(), { type: 'ADJUST', amount, reason: 'x' }));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.fieldErrors?.[0]?.field).toBe('amount');
    },
  );

  it('accepts the largest allowed adjustment in either direction', () => {
    const roomy = makeProgram({ maxBalance: MAX_AMOUNT });
    const rich = makeCard({ balance: MAX_AMOUNT, available: MAX_AMOUNT });
    expect(plan(rich, { type: 'ADJUST', amount: -MAX_AMOUNT, reason: 'x' }, roomy).card.balance).toBe(0);
    expect(
      plan(makeCard({ balance: 0, available: 0 }), { type: 'ADJUST', amount: MAX_AMOUNT, reason: 'x' }, roomy)
        .card.balance,
    ).toBe(MAX_AMOUNT);
  });

  it("keeps an increment within the program's maximum balance", () => {
    const program = makeProgram({ maxBalance: 6000 });
    expect(plan(makeCard(), { type: 'ADJUST', amount: 1000, reason: 'x' }, program).card.balance).toBe(6000);
    expect(errorCodeOf(() => plan(makeCard(), { type: 'ADJUST', amount: 1001, reason: 'x' }, program))).toBe(
      'LIMIT_EXCEEDED',
    );
  });
});

describe('planOperation: BLOCK and UNBLOCK', () => {
  it('blocks an active card with a zero entry that keeps the balance', () => {
    const { card, entry, guard } = plan(makeCard(), { type: 'BLOCK', reason: 'reported lost' });
    expect(card).toMatchObject({
      status: 'BLOCKED',
      statusReason: 'reported lost',
      balance: 5000,
      available: 5000,
    });
    expect(entry).toMatchObject({
      type: 'BLOCK',
      amount: 0,
      balanceAfter: 5000,
      availableAfter: 5000,
      reason: 'reported lost',
      seq: 4,
    });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', status: 'ACTIVE' });
  });

  it('takes a reason from staff, not from a till', () => {
    expect(
      errorCodeOf(() => planOperation(makeCard(), makeProgram(), { type: 'BLOCK' }, staffContext())),
    ).toBe('VALIDATION_FAILED');
    const merchant = { actor: { type: 'merchant' as const, id: 'mer_1' }, request: {}, now: NOW };
    const { card, entry } = planOperation(makeCard(), makeProgram(), { type: 'BLOCK' }, merchant);
    expect(card.status).toBe('BLOCKED');
    expect(card).not.toHaveProperty('statusReason');
    expect(entry).not.toHaveProperty('reason');
  });

  it('blocks an expired active card', () => {
    expect(plan(makeCard({ expiresAt: PAST }), { type: 'BLOCK' }).card.status).toBe('BLOCKED');
  });

  it.each(['PENDING', 'BLOCKED', 'DEACTIVATED'] as const)('refuses to block a %s card', (status) => {
    expect(errorCodeOf(() => plan(makeCard({ status }), { type: 'BLOCK' }))).toBe('CONFLICT');
  });

  it('unblocks a blocked card and forgets why it was blocked', () => {
    const { card, entry, guard } = plan(makeCard({ status: 'BLOCKED', statusReason: 'reported lost' }), {
      type: 'UNBLOCK',
      reason: 'found',
    });
    expect(card.status).toBe('ACTIVE');
    expect(card).not.toHaveProperty('statusReason');
    expect(card.balance).toBe(5000);
    expect(entry).toMatchObject({ type: 'UNBLOCK', amount: 0, balanceAfter: 5000, reason: 'found' });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', status: 'BLOCKED' });
  });

  it.each(['PENDING', 'ACTIVE', 'DEACTIVATED'] as const)('refuses to unblock a %s card', (status) => {
    expect(errorCodeOf(() => plan(makeCard({ status }), { type: 'UNBLOCK' }))).toBe('CONFLICT');
  });

  it('round-trips ACTIVE -> BLOCKED -> ACTIVE with consecutive entries', () => {
    const blocked = plan(makeCard(), { type: 'BLOCK', reason: 'suspicious' });
    const unblocked = plan(blocked.card, { type: 'UNBLOCK' });
    expect([blocked.entry.seq, unblocked.entry.seq]).toEqual([4, 5]);
    expect(unblocked.guard.expectedSeq).toBe(4);
    expect(unblocked.card).toMatchObject({ status: 'ACTIVE', balance: 5000, seq: 5 });
  });
});

describe('planOperation: DEACTIVATE', () => {
  it.each(['PENDING', 'ACTIVE', 'BLOCKED'] as const)(
    'deactivates a %s card and keeps its balance on record',
    (status) => {
      const { card, entry, guard } = plan(makeCard({ status }), { type: 'DEACTIVATE', reason: 'stolen' });
      expect(card).toMatchObject({
        status: 'DEACTIVATED',
        statusReason: 'stolen',
        balance: 5000,
        available: 5000,
      });
      expect(entry).toMatchObject({ type: 'DEACTIVATE', amount: 0, balanceAfter: 5000, reason: 'stolen' });
      expect(guard).toEqual({ expectedSeq: 3, currency: 'USD' });
    },
  );

  it('refuses an already deactivated card', () => {
    expect(errorCodeOf(() => plan(makeCard({ status: 'DEACTIVATED' }), { type: 'DEACTIVATE' }))).toBe(
      'CONFLICT',
    );
  });

  it('requires an empty card when the program says so, and guards that the balance stays zero', () => {
    const program = makeProgram({ deactivation: 'REQUIRE_ZERO_BALANCE' });
    expect(errorCodeOf(() => plan(makeCard(), { type: 'DEACTIVATE' }, program))).toBe('CONFLICT');
    expect(
      errorCodeOf(() => plan(makeCard({ balance: 1, available: 0 }), { type: 'DEACTIVATE' }, program)),
    ).toBe('CONFLICT');
    const { card, guard } = plan(makeCard({ balance: 0, available: 0 }), { type: 'DEACTIVATE' }, program);
    expect(card.status).toBe('DEACTIVATED');
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', maxBalance: 0 });
  });

  it('is final: nothing but a refused request follows', () => {
    const { card } = plan(makeCard(), { type: 'DEACTIVATE' });
    const refused: [CardOperation, string][] = [
      [{ type: 'ACTIVATE', amount: 0 }, 'CONFLICT'],
      [{ type: 'LOAD', amount: 1000 }, 'CARD_NOT_ACTIVE'],
      [{ type: 'REDEEM', amount: 1000 }, 'CARD_NOT_ACTIVE'],
      [{ type: 'REDEEM', amount: 1000, allowPartial: true }, 'CARD_NOT_ACTIVE'],
      [{ type: 'ADJUST', amount: 100, reason: 'x' }, 'CARD_NOT_ACTIVE'],
      [{ type: 'BLOCK' }, 'CONFLICT'],
      [{ type: 'UNBLOCK' }, 'CONFLICT'],
      [{ type: 'DEACTIVATE' }, 'CONFLICT'],
    ];
    for (const [operation, code] of refused) {
      expect(
        errorCodeOf(() => plan(card, operation)),
        operation.type,
      ).toBe(code);
    }
  });
});

describe('a card life cycle', () => {
  it('keeps balance = sum of entries through issue, activation, loads, redemptions, adjustments, blocks', () => {
    const program = makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 12 } });
    const issued = planIssue(
      program,
      { cardId: CARD_ID, last4: '1486', type: 'PHYSICAL', amount: 0, activate: false },
      staffContext(),
    );
    const entries = [...issued.entries];
    let card = issued.card;
    const steps: CardOperation[] = [
      { type: 'ACTIVATE', amount: 2000 },
      { type: 'LOAD', amount: 3000 },
      { type: 'REDEEM', amount: 1250 },
      { type: 'BLOCK', reason: 'lost' },
      { type: 'ADJUST', amount: -250, reason: 'fee reversal error' },
      { type: 'UNBLOCK', reason: 'found' },
      { type: 'REDEEM', amount: 10_000, allowPartial: true },
      { type: 'DEACTIVATE', reason: 'done' },
    ];
    for (const step of steps) {
      const planned = planOperation(card, program, step, staffContext());
      expect(planned.guard.expectedSeq).toBe(card.seq);
      card = planned.card;
      entries.push(planned.entry);
    }
    expect(entries.map((entry) => entry.type)).toEqual([
      'ISSUE',
      'ACTIVATE',
      'LOAD',
      'REDEEM',
      'BLOCK',
      'ADJUST_DECREMENT',
      'UNBLOCK',
      'REDEEM',
      'DEACTIVATE',
    ]);
    expect(entries.map((entry) => entry.amount)).toEqual([0, 2000, 3000, -1250, 0, -250, 0, -3500, 0]);
    expect(entries.map((entry) => entry.balanceAfter)).toEqual([0, 2000, 5000, 3750, 3750, 3500, 3500, 0, 0]);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(card).toMatchObject({ status: 'DEACTIVATED', balance: 0, available: 0, seq: 9, type: 'PHYSICAL' });
    expect(card.expiresAt).toBe('2026-03-15T12:00:00.000Z');
  });
});
