import { createHmac } from 'node:crypto';
import { validationFailed } from './errors';

/**
 * A loyalty member: a card holder registered in one loyalty program by an e-mail address or a phone
 * number, with the consent they gave. The contact is kept (sign-in codes go to it) and also stored as an
 * HMAC, which makes registration unique per program without a scan. Deletion pseudonymises: contact and
 * consent text go, the id and the points ledger stay (finance keeps its ledgers).
 */
export const CONTACT_CHANNELS = ['EMAIL', 'SMS'] as const;
export type ContactChannel = (typeof CONTACT_CHANNELS)[number];

export interface MemberConsent {
  /** The version of the terms and privacy notice the member accepted. */
  readonly termsVersion: string;
  readonly acceptedAt: string;
  /** Whether the member agreed to promotions (member promotions only reach those who did). */
  readonly marketing: boolean;
}

export interface Member {
  readonly id: string;
  readonly loyaltyProgramId: string;
  readonly status: 'ACTIVE' | 'DELETED';
  readonly channel: ContactChannel;
  /** E-mail (lower case) or phone (E.164); absent once deleted. */
  readonly contact?: string;
  readonly consent?: MemberConsent;
  /** The tier the member's points earned in the rolling window reach (core/tiers.ts). */
  readonly tier: string;
  readonly tierEarnedPoints: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deletedAt?: string;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,63}$/;
const PHONE = /^\+[1-9][0-9]{6,14}$/;

/** The contact in its one stored form: e-mail lower-cased, phone in E.164 without spaces. */
export function normaliseContact(channel: ContactChannel, raw: string, field = 'contact'): string {
  const value = channel === 'EMAIL' ? raw.trim().toLowerCase() : raw.replace(/[\s().-]/g, '');
  const valid = channel === 'EMAIL' ? EMAIL.test(value) : PHONE.test(value);
  if (!valid) {
    throw validationFailed([
      { field, message: channel === 'EMAIL' ? 'an e-mail address' : 'a phone number in E.164 (+4412345678)' },
    ]);
  }
  return value;
}

/** The contact's HMAC: a lookup key that names no one without the pepper. */
export const contactHash = (
  pepper: string,
  loyaltyProgramId: string,
  channel: ContactChannel,
  contact: string,
) =>
  createHmac('sha256', pepper)
    .update(`member-contact:${loyaltyProgramId}:${channel}:${contact}`)
    .digest('base64url');

/** Where a message to an SMS contact goes under the local mail catcher (the delivery service's rule). */
export const maskedContact = (member: Pick<Member, 'channel' | 'contact'>): string | undefined => {
  const contact = member.contact;
  if (!contact) return undefined;
  if (member.channel === 'SMS') return `${contact.slice(0, 3)}***${contact.slice(-2)}`;
  const [local = '', domain = ''] = contact.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
};
