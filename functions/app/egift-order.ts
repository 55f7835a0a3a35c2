import type { Card, Metadata, OperationContext } from '../core/card';
import type { Delivery, DeliveryRecipient } from '../core/delivery/delivery';
import { newDelivery } from '../core/delivery/new-delivery';
import { zonedToUtc } from '../core/delivery/zoned-time';
import { notFound, validationFailed } from '../core/errors';
import { designProblem, type Program } from '../core/program';
import type { Committed } from '../store/card-commit';
import { deliveryPut, findDelivery } from '../store/deliveries';
import type { IdempotencyClaim } from '../store/idempotency';
import { getProgram } from '../store/programs';
import { sealValue } from '../store/sealed-values';
import { issueCard } from './card-issue';
import { sendDelivery } from './delivery-send';

export interface EgiftOrder {
  readonly programId: string;
  readonly amount: number;
  readonly recipient: DeliveryRecipient;
  readonly senderName: string;
  readonly message?: string;
  readonly designId?: string;
  /** Absent: now. A wall-clock time in the recipient's time zone otherwise. */
  readonly deliverAt?: { readonly localTime: string; readonly timeZone: string };
  readonly metadata?: Metadata;
}

/** How far ahead a delivery may be scheduled, and how far behind "now" a time may be and still mean now. */
const MAX_AHEAD_MS = 366 * 86_400_000;
const PAST_GRACE_MS = 5 * 60_000;

function sendTime(order: EgiftOrder, now: Date): { sendAt: Date; timeZone: string } {
  if (!order.deliverAt) return { sendAt: now, timeZone: 'UTC' };
  const sendAt = zonedToUtc(order.deliverAt.localTime, order.deliverAt.timeZone);
  if (!sendAt) {
    throw validationFailed([{ field: 'deliverAt', message: 'not a time in that time zone' }]);
  }
  if (sendAt.getTime() < now.getTime() - PAST_GRACE_MS) {
    throw validationFailed([{ field: 'deliverAt.localTime', message: 'is in the past' }]);
  }
  if (sendAt.getTime() > now.getTime() + MAX_AHEAD_MS) {
    throw validationFailed([{ field: 'deliverAt.localTime', message: 'is more than a year ahead' }]);
  }
  return { sendAt: sendAt < now ? now : sendAt, timeZone: order.deliverAt.timeZone };
}

/** The design must be one of the program's (an invisible program is left to issueCard's NOT_FOUND). */
async function checkDesign(
  programId: string,
  designId: string,
  programVisible: (program: Program) => boolean,
): Promise<void> {
  const program = await getProgram(programId, { cached: true }).catch(() => undefined);
  if (!program || !programVisible(program)) return;
  const problem = designProblem(program, designId);
  if (problem) throw validationFailed([{ field: 'designId', message: problem }]);
}

/**
 * Primary course: issue the digital card, active with the ordered value, and record its delivery in the
 * same transaction (the code sealed in it, for the claim page); a delivery due now goes out at once,
 * a scheduled one when the sender job finds it due. A retried order (same Idempotency-Key) gets the
 * same card and delivery back and sends nothing again: the delivery is sent once, by whoever moves it
 * out of SCHEDULED.
 */
export async function orderEgift(
  order: EgiftOrder,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  programVisible: (program: Program) => boolean,
): Promise<Committed<{ card: Card; delivery: Delivery }>> {
  const { sendAt, timeZone } = sendTime(order, context.now);
  if (order.designId) await checkDesign(order.programId, order.designId, programVisible);
  const committed = await issueCard(
    order.programId,
    {
      type: 'DIGITAL',
      amount: order.amount,
      activate: true,
      recipient: {
        ...(order.recipient.name ? { name: order.recipient.name } : {}),
        email: order.recipient.email,
        ...(order.message ? { message: order.message } : {}),
      },
      ...(order.metadata ? { metadata: order.metadata } : {}),
    },
    context,
    claim,
    programVisible,
    async (issued) => {
      const delivery = newDelivery(
        issued.card,
        {
          recipient: order.recipient,
          senderName: order.senderName,
          ...(order.message ? { message: order.message } : {}),
          ...(order.designId ? { designId: order.designId } : {}),
          sendAt,
          timeZone,
        },
        context.actor,
        context.now,
      );
      return [deliveryPut(delivery, await sealValue('delivery-code-v1', issued.code, issued.card.id))];
    },
  );
  const { card } = committed.result;
  if (!committed.replayed && sendAt <= context.now) await sendDelivery(card.id, context.now);
  const stored = await findDelivery(card.id);
  if (!stored) throw notFound('The delivery');
  return { result: { card, delivery: stored.delivery }, replayed: committed.replayed };
}
