import { config } from '../config';
import { claimLink } from '../core/delivery/claim-token';

/** The origin claim links point to: the card-holder portal's. */
export function portalBaseUrl(): string {
  const base = config().PORTAL_BASE_URL ?? config().PUBLIC_BASE_URL;
  if (!base) throw new Error('PORTAL_BASE_URL (or PUBLIC_BASE_URL) is not configured: claim links need it');
  return base;
}

export const claimLinkFor = (token: string): string => claimLink(portalBaseUrl(), token);
