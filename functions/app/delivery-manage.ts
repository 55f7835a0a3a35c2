import type { AuditRecord } from '../core/audit';
import { type Delivery, type DeliveryRecipient, NOT_SENT, RESENDABLE } from '../core/delivery/delivery';
import { zonedToUtc } from '../core/delivery/zoned-time';
import { DomainError, notFound, validationFailed } from '../core/errors';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import { auditInsert } from '../store/audit';
import { changeDelivery, claimTokenDelete, dueAt, findDelivery, notDue } from '../store/deliveries';
import { type SendOutcome, sendDelivery } from './delivery-send';

/** Who may see or change a delivery: staff any, a merchant those of its own orders. */
export type DeliveryVisibility = (delivery: Delivery) => boolean;

export async function visibleDelivery(cardId: string, visible: DeliveryVisibility): Promise<Delivery> {
  const stored = await findDelivery(cardId);
  if (!stored || !visible(stored.delivery)) throw notFound('The delivery');
  return stored.delivery;
}

const moved = () =>
  new DomainError(
    'CONFLICT',
    'The delivery changed meanwhile (it may have been sent); read it and try again.',
  );

function audit(
  delivery: Delivery,
  action: string,
  actor: Actor,
  reason: string | undefined,
  after: object,
  now: Date,
) {
  const record: AuditRecord = {
    id: newId('aud', now),
    at: now.toISOString(),
    actor,
    action: `delivery.${action}`,
    subjectType: 'delivery',
    subjectId: delivery.cardId,
    cardId: delivery.cardId,
    programId: delivery.programId,
    ...(delivery.merchantId ? { merchantId: delivery.merchantId } : {}),
    ...(reason ? { reason } : {}),
    before: { status: delivery.status, recipient: delivery.recipient, sendAt: delivery.sendAt },
    after,
  };
  return auditInsert(record);
}

/**
 * Support sends a delivery again, to the same or a corrected address. Primary course: in one write,
 * the delivery goes back to SCHEDULED for now with the recipient as corrected, its claim token is
 * deleted (the old link stops working at once) and the audit record is written; then it is sent, with a
 * new link.
 */
export async function resendDelivery(
  cardId: string,
  correction: Partial<DeliveryRecipient>,
  reason: string,
  actor: Actor,
  visible: DeliveryVisibility,
  now: Date,
): Promise<{ delivery: Delivery; sent: SendOutcome }> {
  const delivery = await visibleDelivery(cardId, visible);
  if (!RESENDABLE.includes(delivery.status)) {
    throw new DomainError(
      'CONFLICT',
      `A ${delivery.status} delivery cannot be sent again; it has not gone out yet.`,
    );
  }
  const base = delivery.recipient;
  const email = correction.email ?? base?.email;
  if (!email) throw validationFailed([{ field: 'email', message: 'required: the delivery has no address' }]);
  const recipient: DeliveryRecipient = {
    ...((correction.name ?? base?.name) ? { name: correction.name ?? base?.name } : {}),
    email,
    ...((correction.phone ?? base?.phone) ? { phone: correction.phone ?? base?.phone } : {}),
  };
  const changes = {
    status: 'SCHEDULED',
    recipient,
    sendAt: now.toISOString(),
    updatedAt: now.toISOString(),
    tokenHash: undefined,
    tokenExpiresAt: undefined,
    problem: undefined,
    ...dueAt(cardId, now.toISOString()),
  };
  const extra = [
    audit(delivery, 'resend', actor, reason, { status: 'SCHEDULED', recipient, sendAt: changes.sendAt }, now),
    ...(delivery.tokenHash ? [claimTokenDelete(delivery.tokenHash)] : []),
  ];
  if (!(await changeDelivery(delivery, changes, RESENDABLE, extra))) throw moved();
  const sent = await sendDelivery(cardId, now);
  return { delivery: await visibleDelivery(cardId, visible), sent };
}

/** Cancels a delivery that has not gone out; the card stays, undelivered (support may resend it later). */
export async function cancelDelivery(
  cardId: string,
  reason: string | undefined,
  actor: Actor,
  visible: DeliveryVisibility,
  now: Date,
): Promise<Delivery> {
  const delivery = await visibleDelivery(cardId, visible);
  if (!NOT_SENT.includes(delivery.status)) {
    throw new DomainError(
      'CONFLICT',
      `The delivery is ${delivery.status}: only a scheduled one can be cancelled.`,
    );
  }
  const changes = {
    status: 'CANCELLED',
    cancelledAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...notDue,
  };
  const record = audit(delivery, 'cancel', actor, reason, { status: 'CANCELLED' }, now);
  if (!(await changeDelivery(delivery, changes, NOT_SENT, [record]))) throw moved();
  return visibleDelivery(cardId, visible);
}

/** Moves a scheduled delivery to another time in the recipient's time zone. */
export async function rescheduleDelivery(
  cardId: string,
  deliverAt: { readonly localTime: string; readonly timeZone: string },
  actor: Actor,
  visible: DeliveryVisibility,
  now: Date,
): Promise<Delivery> {
  const delivery = await visibleDelivery(cardId, visible);
  if (!NOT_SENT.includes(delivery.status)) {
    throw new DomainError(
      'CONFLICT',
      `The delivery is ${delivery.status}: only a scheduled one can be moved.`,
    );
  }
  const sendAt = zonedToUtc(deliverAt.localTime, deliverAt.timeZone);
  if (!sendAt) throw validationFailed([{ field: 'deliverAt', message: 'not a time in that time zone' }]);
  if (sendAt < now) throw validationFailed([{ field: 'deliverAt.localTime', message: 'is in the past' }]);
  const at = sendAt.toISOString();
  const changes = {
    sendAt: at,
    timeZone: deliverAt.timeZone,
    updatedAt: now.toISOString(),
    ...dueAt(cardId, at),
  };
  const record = audit(delivery, 'reschedule', actor, undefined, { status: 'SCHEDULED', sendAt: at }, now);
  if (!(await changeDelivery(delivery, changes, NOT_SENT, [record]))) throw moved();
  return visibleDelivery(cardId, visible);
}
