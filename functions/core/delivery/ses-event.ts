/**
 * What an SES event (configuration set event destination -> SNS) says about a message we sent: its
 * provider id and what became of it. Only the kinds that change a delivery are read; the rest are ignored.
 */
export type MessageOutcome = 'DELIVERED' | 'BOUNCED' | 'COMPLAINED';

export interface MessageEvent {
  readonly providerMessageId: string;
  /** The `reference` tag of an e-gift send (`purpose` EGIFT): the card id. */
  readonly cardId?: string;
  readonly outcome: MessageOutcome;
  readonly at: string;
  /** The provider's classification, never an address (e.g. "Permanent/General"). */
  readonly detail?: string;
}

interface SesEventShape {
  readonly eventType?: unknown;
  readonly notificationType?: unknown;
  readonly mail?: {
    readonly messageId?: unknown;
    readonly timestamp?: unknown;
    readonly tags?: Readonly<Record<string, unknown>>;
  };
  readonly bounce?: {
    readonly bounceType?: unknown;
    readonly bounceSubType?: unknown;
    readonly timestamp?: unknown;
  };
  readonly complaint?: { readonly complaintFeedbackType?: unknown; readonly timestamp?: unknown };
  readonly delivery?: { readonly timestamp?: unknown };
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** Reads an SES event-publishing record (or a classic notification); undefined for anything else. */
export function readSesEvent(body: string): MessageEvent | undefined {
  let event: SesEventShape;
  try {
    event = JSON.parse(body) as SesEventShape;
  } catch {
    return undefined;
  }
  const kind = text(event.eventType) ?? text(event.notificationType);
  const providerMessageId = text(event.mail?.messageId);
  if (!kind || !providerMessageId) return undefined;
  const tag = (name: string) => {
    const values = event.mail?.tags?.[name];
    return Array.isArray(values) ? text(values[0]) : undefined;
  };
  const reference = tag('purpose') === 'EGIFT' ? tag('reference') : undefined;
  const base = { providerMessageId, ...(reference ? { cardId: reference } : {}) };
  const fallbackAt = text(event.mail?.timestamp) ?? new Date(0).toISOString();
  if (kind === 'Bounce') {
    const detail = [text(event.bounce?.bounceType), text(event.bounce?.bounceSubType)]
      .filter(Boolean)
      .join('/');
    return {
      ...base,
      outcome: 'BOUNCED',
      at: text(event.bounce?.timestamp) ?? fallbackAt,
      ...(detail ? { detail } : {}),
    };
  }
  if (kind === 'Complaint') {
    const detail = text(event.complaint?.complaintFeedbackType);
    return {
      ...base,
      outcome: 'COMPLAINED',
      at: text(event.complaint?.timestamp) ?? fallbackAt,
      ...(detail ? { detail } : {}),
    };
  }
  if (kind === 'Delivery') {
    return { ...base, outcome: 'DELIVERED', at: text(event.delivery?.timestamp) ?? fallbackAt };
  }
  return undefined;
}
