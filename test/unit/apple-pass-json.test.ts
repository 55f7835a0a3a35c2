import { describe, expect, it } from 'vitest';
import { applePassToken, planApplePass } from '../../functions/core/apple-pass';
import { applePassJsonProblems } from '../../functions/core/apple-pass-json';
import type { WalletMessage } from '../../functions/core/wallet-message';
import { CARD_ID, makeCard, makeProgram, NOW } from './domain-fixtures';

const settings = {
  passTypeIdentifier: 'pass.com.example.giftcard',
  teamIdentifier: 'ABCDE12345',
  webServiceURL: 'https://api.example.com/live/wallet/apple',
  authenticationToken: applePassToken('secret-secret-secret-secret-secret', CARD_ID),
};
const message: WalletMessage = {
  id: 'wmsg_1',
  cardId: CARD_ID,
  header: 'Hello',
  body: 'A message',
  actor: { type: 'staff', id: 'u1' },
  createdAt: NOW.toISOString(),
};
const pass = planApplePass(makeCard(), makeProgram(), message, settings, NOW);
const fieldOf = (value: unknown) => ({
  ...pass,
  storeCard: { ...pass.storeCard, primaryFields: [{ key: 'balance', value }] },
});

describe('the pass.json check before signing', () => {
  it('accepts the passes the platform plans: active, blocked, expiring, voided, with a message', () => {
    const cards = [
      makeCard(),
      makeCard({ status: 'BLOCKED' }),
      makeCard({ status: 'DEACTIVATED' }),
      makeCard({ expiresAt: '2030-01-31T23:59:59.999Z' }),
    ];
    for (const card of cards) {
      expect(applePassJsonProblems(planApplePass(card, makeProgram(), message, settings, NOW))).toEqual([]);
    }
  });

  it.each([
    ['formatVersion', { formatVersion: 2 }],
    ['passTypeIdentifier', { passTypeIdentifier: 'com.example' }],
    ['teamIdentifier', { teamIdentifier: 'abcde12345' }],
    ['serialNumber', { serialNumber: 'gc 1' }],
    ['organizationName', { organizationName: '' }],
    ['description', { description: 'x'.repeat(257) }],
    ['logoText', { logoText: 'x'.repeat(65) }],
    ['webServiceURL', { webServiceURL: 'https://api.example.com/wallet?x=1' }],
    ['authenticationToken', { authenticationToken: 'short' }],
    ['backgroundColor', { backgroundColor: 'rgb(256, 0, 0)' }],
    ['labelColor', { labelColor: '#ffffff' }],
    ['sharingProhibited', { sharingProhibited: 'yes' }],
    ['voided', { voided: 1 }],
    ['expirationDate', { expirationDate: '2030-02-30T00:00:00Z' }],
    ['barcodes', { barcodes: [] }],
    ['barcodes.0.messageEncoding', { barcodes: [{ ...pass.barcodes[0], messageEncoding: 'utf-8' }] }],
    ['barcodes.0.extra', { barcodes: [{ ...pass.barcodes[0], extra: true }] }],
    ['storeCard.primaryFields', { storeCard: { ...pass.storeCard, primaryFields: [] } }],
    [
      'storeCard.backFields.0.key',
      { storeCard: { ...pass.storeCard, backFields: [{ key: '1x', value: 'a' }] } },
    ],
    ['storeCard.primaryFields.0.value', fieldOf(Number.NaN)],
    ['storeCard.primaryFields.0.value', fieldOf('')],
    ['unknownKey', { unknownKey: 1 }],
  ])('names %s when it is not what Wallet reads', (path, change) => {
    expect(applePassJsonProblems({ ...pass, ...change })).toEqual([path]);
  });

  it('names a missing required part, and the whole when there is no object', () => {
    const { storeCard: _storeCard, ...withoutStoreCard } = pass;
    expect(applePassJsonProblems(withoutStoreCard)).toEqual(['storeCard']);
    expect(applePassJsonProblems(null)).toEqual(['(root)']);
    expect(applePassJsonProblems([])).toEqual(['(root)']);
  });

  it('accepts a number or text as a field value, and a change message only with %@', () => {
    expect(applePassJsonProblems(fieldOf(25.5))).toEqual([]);
    expect(applePassJsonProblems(fieldOf('25.50 EUR'))).toEqual([]);
    const noPlaceholder = {
      ...pass,
      storeCard: { ...pass.storeCard, primaryFields: [{ key: 'b', value: 1, changeMessage: 'Now' }] },
    };
    expect(applePassJsonProblems(noPlaceholder)).toEqual(['storeCard.primaryFields.0.changeMessage']);
  });
});
