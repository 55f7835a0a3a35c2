import { describe, expect, it } from 'vitest';
import {
  PORTAL_WALLET_TOKEN_SECONDS,
  portalWalletCard,
  portalWalletToken,
} from '../../functions/core/portal-wallet-token';

const SECRET = 'a-sealing-pepper-of-thirty-two-characters!';
const CARD = `gc_${'a1'.repeat(13)}`;
const NOW = new Date('2026-12-02T08:00:00Z');

describe('portal wallet link token', () => {
  it('names its card until it expires, then nothing', () => {
    const token = portalWalletToken(SECRET, CARD, NOW);
    expect(portalWalletCard(SECRET, token, NOW)).toBe(CARD);
    const justBefore = new Date(NOW.getTime() + PORTAL_WALLET_TOKEN_SECONDS * 1000 - 1000);
    expect(portalWalletCard(SECRET, token, justBefore)).toBe(CARD);
    const after = new Date(NOW.getTime() + PORTAL_WALLET_TOKEN_SECONDS * 1000);
    expect(portalWalletCard(SECRET, token, after)).toBeUndefined();
  });

  it('refuses another card, a later expiry, another secret and malformed tokens', () => {
    const token = portalWalletToken(SECRET, CARD, NOW);
    const [, expiry, mac] = token.split('.');
    expect(portalWalletCard(SECRET, `gc_${'b2'.repeat(13)}.${expiry}.${mac}`, NOW)).toBeUndefined();
    expect(portalWalletCard(SECRET, `${CARD}.${Number(expiry) + 3600}.${mac}`, NOW)).toBeUndefined();
    expect(portalWalletCard(`${SECRET}x`, token, NOW)).toBeUndefined();
    for (const bad of ['', 'x', `${CARD}..`, `${token}.extra`, token.replace('.', '_')]) {
      expect(portalWalletCard(SECRET, bad, NOW)).toBeUndefined();
    }
  });
});
