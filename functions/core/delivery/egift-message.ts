import { formatAmount } from '../money';

/**
 * The e-gift message's words: who it is from, their message, the value, and the claim link. Never the
 * code: the link opens it on the portal. Everything the sender typed is escaped in the HTML part.
 */
export interface EgiftMessageInput {
  readonly recipientName?: string;
  readonly senderName: string;
  readonly message?: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly programName: string;
  readonly link: string;
  readonly linkExpiresAt: string;
}

export interface EgiftMessageText {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The text message: short, the link and who it is from. */
  readonly sms: string;
}

const escapeHtml = (value: string): string =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Mail headers and SMS carry no line breaks from user input. */
const oneLine = (value: string): string => value.replace(/[\r\n\t]+/g, ' ').trim();

export function egiftMessage(input: EgiftMessageInput): EgiftMessageText {
  const sender = oneLine(input.senderName);
  const value = `${formatAmount(input.amountMinor, input.currency)} ${input.currency}`;
  const greeting = input.recipientName ? `Hello ${oneLine(input.recipientName)},` : 'Hello,';
  const until = input.linkExpiresAt.slice(0, 10);
  const subject = `${sender} sent you a ${input.programName} gift card`;
  const text = [
    greeting,
    '',
    `${sender} sent you a ${input.programName} gift card worth ${value}.`,
    ...(input.message ? ['', input.message] : []),
    '',
    `Open your card: ${input.link}`,
    `(the link works until ${until}; keep it to yourself, it opens the card)`,
  ].join('\n');
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(sender)} sent you a ${escapeHtml(input.programName)} gift card worth <strong>${escapeHtml(value)}</strong>.</p>`,
    ...(input.message
      ? [`<blockquote>${escapeHtml(input.message).replace(/\n/g, '<br>')}</blockquote>`]
      : []),
    `<p><a href="${escapeHtml(input.link)}">Open your gift card</a></p>`,
    `<p><small>The link works until ${until}. Keep it to yourself: it opens the card.</small></p>`,
  ].join('\n');
  const sms = `${sender} sent you a ${value} ${input.programName} gift card: ${input.link}`;
  return { subject, text, html, sms };
}
