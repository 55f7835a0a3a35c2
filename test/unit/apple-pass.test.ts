import { describe, expect, it } from 'vitest';
import {
  applePassToken,
  balanceForDisplay,
  passLastModified,
  passTokenHash,
  passTokenMatches,
  planApplePass,
  unchangedSince,
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

describe('when a pass last changed', () => {
  it('is the later of the card and the newest message', () => {
    const card = makeCard({ updatedAt: '2025-03-15T12:00:00.000Z' });
    expect(passLastModified(card, undefined).toISOString()).toBe('2025-03-15T12:00:00.000Z');
    expect(passLastModified(card, message('2025-03-15T13:00:00.000Z')).toISOString()).toBe(
      '2025-03-15T13:00:00.000Z',
    );
    expect(passLastModified(card, message('2025-03-15T11:00:00.000Z')).toISOString()).toBe(
      '2025-03-15T12:00:00.000Z',
    );
  });

  it('compares with If-Modified-Since in whole seconds', () => {
    const at = new Date('2025-03-15T12:00:00.700Z');
    expect(unchangedSince(at, new Date('2025-03-15T12:00:00.000Z'))).toBe(true);
    expect(unchangedSince(at, new Date('2025-03-15T11:59:59.000Z'))).toBe(false);
  });
});
