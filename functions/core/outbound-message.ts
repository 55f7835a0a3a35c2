/**
 * A message to a person: an e-gift to its recipient, a sign-in code to a loyalty member. The delivery
 * service (functions/store/message-sender.ts) sends it by e-mail (Amazon SES) or text message (AWS End
 * User Messaging SMS); under `npm start` both land in the local mail catcher.
 *
 * A message never carries a card code or a PIN: it carries a link or a one-time code of its own purpose.
 */
export type MessageChannel = 'EMAIL' | 'SMS';

export interface OutboundMessage {
  readonly channel: MessageChannel;
  /** An e-mail address (EMAIL) or an E.164 phone number (SMS). */
  readonly to: string;
  /** The e-mail's subject; for SMS it is not sent (the text stands alone). */
  readonly subject: string;
  readonly text: string;
  /** The e-mail's HTML body; text-only when absent. SMS ignore it. */
  readonly html?: string;
  /** What the message is for, e.g. `EGIFT`, `MEMBER_SIGN_IN`: tagged on the send, so events name it. */
  readonly purpose: string;
  /** The caller's id of this message (a delivery id): tagged on the send, so bounces find their way back. */
  readonly reference: string;
}

/** A tag value SES and SMS accept: letters, digits, `_`, `-`, `.`, `@` (SES's rule), at most 256. */
export const MESSAGE_TAG_PATTERN = /^[A-Za-z0-9_\-.@]{1,256}$/;

/** RFC 5321 caps a path at 256 octets; a pragmatic shape check (one @, a dot in the domain, no spaces). */
const EMAIL_PATTERN =
  /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
/** E.164: a plus, a country code not starting with 0, at most 15 digits in all. */
const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

export const isEmailAddress = (value: string): boolean => value.length <= 254 && EMAIL_PATTERN.test(value);
export const isE164PhoneNumber = (value: string): boolean => E164_PATTERN.test(value);

/**
 * The address as logs may show it: an e-mail keeps its first character and domain (`j***@example.com`),
 * a phone number its last two digits (`+*********42`). Addresses are personal data; logs keep them masked.
 */
export function maskedAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address[0]}***${address.slice(at)}`;
  return address.length > 2 ? `${'*'.repeat(address.length - 2)}${address.slice(-2)}` : '**';
}

/** Refuses a message the providers would refuse, before any call: a programming error, not bad input. */
export function assertSendable(message: OutboundMessage): void {
  const addressOk = message.channel === 'EMAIL' ? isEmailAddress(message.to) : isE164PhoneNumber(message.to);
  if (!addressOk) throw new Error(`message ${message.reference}: not a valid ${message.channel} address`);
  if (!MESSAGE_TAG_PATTERN.test(message.purpose) || !MESSAGE_TAG_PATTERN.test(message.reference)) {
    throw new Error('message purpose and reference must be tag-safe (letters, digits, _ - . @)');
  }
  if (message.text.length === 0) throw new Error(`message ${message.reference}: empty text`);
  if (message.channel === 'EMAIL' && message.subject.trim().length === 0) {
    throw new Error(`message ${message.reference}: an e-mail needs a subject`);
  }
}
