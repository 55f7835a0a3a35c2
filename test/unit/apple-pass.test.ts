import { describe, expect, it } from 'vitest';
import {
  applePassToken,
  balanceForDisplay,
  nextPassVersion,
  passLastModified,
  passTokenHash,
  passTokenMatches,
  planApplePass,
  unchangedSince,
  updatedSerials,
} from '../../functions/core/apple-pass';
import type { WalletMessage } from '../../functions/core/wallet-message';
import { CARD_ID, makeCard, makeProgram, NOW } from './domain-fixtures';

const settings = {
  passTypeIdentifier: 'pass.com.example.giftcard',
  teamIdentifier: 'ABCDE12345',
  webServiceURL: 'https://api.example.com/live/wallet/apple',
  authenticationToken: applePassToken('secret-secret-secret-secret-secret', CARD_ID),
};

const message = (createdAt: string, overrides: Partial<WalletMessage> = {}): WalletMessage => ({
  id: `wmsg_${createdAt}`,
  cardId: CARD_ID,
  header: 'Hello',
  body: 'A message',
  actor: { type: 'staff', id: 'u1' },
  createdAt,
  ...overrides,
});

describe('the Apple pass of a card', () => {
  it('shows the balance in major units of the currency, for the device to format', () => {
    expect(balanceForDisplay(2550, 'USD')).toBe(25.5);
    expect(balanceForDisplay(2550, 'JPY')).toBe(2550);
    expect(balanceForDisplay(1, 'KWD')).toBe(0.001);
    const pass = planApplePass(
      makeCard({ balance: 1234, currency: 'EUR' }),
      makeProgram(),
      undefined,
      settings,
      NOW,
    );
    expect(pass.storeCard.primaryFields[0]).toEqual({
      key: 'balance',
      label: 'BALANCE',
      value: 12.34,
      currencyCode: 'EUR',
      changeMessage: 'Balance is now %@',
    });
  });

  it('carries the card id as serial and barcode, never more of the code than the last 4', () => {
    const card = makeCard({ last4: '4242' });
    const pass = planApplePass(card, makeProgram(), undefined, settings, NOW);
    expect(pass.serialNumber).toBe(card.id);
    expect(pass.barcodes[0]?.message).toBe(card.id);
    expect(pass.barcodes[0]?.altText).toBe('•••• 4242');
  });

  it('is voided when deactivated, says EXPIRED past its expiry and carries the expiry date', () => {
    const deactivated = planApplePass(
      makeCard({ status: 'DEACTIVATED' }),
      makeProgram(),
      undefined,
      settings,
      NOW,
    );
    expect(deactivated.voided).toBe(true);
    const expiresAt = '2025-03-01T00:00:00.000Z';
    const expired = planApplePass(makeCard({ expiresAt }), makeProgram(), undefined, settings, NOW);
    expect(expired.expirationDate).toBe(expiresAt);
    expect(expired.storeCard.secondaryFields).toContainEqual({
      key: 'status',
      label: 'STATUS',
      value: 'EXPIRED',
    });
  });

  it('shows the latest message as a field that notifies', () => {
    const pass = planApplePass(makeCard(), makeProgram(), message(NOW.toISOString()), settings, NOW);
    expect(pass.storeCard.backFields?.[0]).toEqual({
      key: 'message',
      label: 'Hello',
      value: 'A message',
      changeMessage: '%@',
    });
  });
});

describe('pass tokens', () => {
  it('are the same for a serial number every time, differ between passes, and are long enough', () => {
    const secret = 'secret-secret-secret-secret-secret';
    expect(applePassToken(secret, CARD_ID)).toBe(applePassToken(secret, CARD_ID));
    expect(applePassToken(secret, CARD_ID)).not.toBe(applePassToken(secret, 'gc_zyxwvtsrqpnmkjhgfedcba9876'));
    expect(applePassToken(secret, CARD_ID).length).toBeGreaterThanOrEqual(16);
  });

  it('match only their own stored hash (and never a malformed one)', () => {
    const token = applePassToken('s'.repeat(32), CARD_ID);
    expect(passTokenMatches(token, passTokenHash(token))).toBe(true);
    expect(passTokenMatches(`${token}x`, passTokenHash(token))).toBe(false);
    expect(passTokenMatches(token, '')).toBe(false);
    expect(passTokenMatches(token, 'not-hex')).toBe(false);
  });
});

describe('pass versions and Last-Modified', () => {
  it('give every new version a later second than the one before, even when the clock is behind', () => {
    expect(nextPassVersion(undefined, new Date('2025-03-15T12:00:00.100Z'))).toBe('2025-03-15T12:00:00.100Z');
    // A change in the same second as the previous version takes the next second.
    expect(nextPassVersion('2025-03-15T12:00:00.100Z', new Date('2025-03-15T12:00:00.700Z'))).toBe(
      '2025-03-15T12:00:01.000Z',
    );
    // A clock behind the previous version (another instance): still later.
    expect(nextPassVersion('2025-03-15T12:00:05.000Z', new Date('2025-03-15T12:00:04.900Z'))).toBe(
      '2025-03-15T12:00:06.000Z',
    );
    expect(nextPassVersion('2025-03-15T12:00:00.100Z', new Date('2025-03-15T12:00:09.250Z'))).toBe(
      '2025-03-15T12:00:09.250Z',
    );
  });

  it('answer 304 only to a device holding the current version, in whole seconds', () => {
    const first = '2025-03-15T12:00:00.100Z';
    const held = new Date(passLastModified(first));
    expect(passLastModified(first)).toBe('Sat, 15 Mar 2025 12:00:00 GMT');
    expect(unchangedSince(first, held)).toBe(true);
    // The change at 12:00:00.700 of issue 13: a new version in a later second, so the device gets it.
    const second = nextPassVersion(first, new Date('2025-03-15T12:00:00.700Z'));
    expect(unchangedSince(second, held)).toBe(false);
  });
});

describe("Apple's update list", () => {
  const registrations = [
    { serialNumber: 'gc_b', updateTag: 7 },
    { serialNumber: 'gc_a', updateTag: 0 },
    { serialNumber: 'gc_c', updateTag: 9 },
  ];

  it('lists every registered pass without a tag, and the ones tagged after it with one', () => {
    expect(updatedSerials(registrations, undefined, 9)).toEqual({
      serialNumbers: ['gc_a', 'gc_b', 'gc_c'],
      lastUpdated: '9',
    });
    expect(updatedSerials(registrations, 7, 9).serialNumbers).toEqual(['gc_c']);
    expect(updatedSerials(registrations, 9, 9).serialNumbers).toEqual([]);
  });

  it("lists everything for a tag the counter never reached (an older scheme's millisecond tag)", () => {
    expect(updatedSerials(registrations, 1_764_657_600_000, 9).serialNumbers).toEqual([
      'gc_a',
      'gc_b',
      'gc_c',
    ]);
  });
});
