import type { WebhookDelivery } from '../core/webhook-model';
import { ATTEMPT_LEASE_MS, afterFailure } from '../core/webhook-retry';
import { signatureHeader } from '../core/webhook-signature';
import type { WebhookUrlPolicy } from '../core/webhook-url';
import { logger } from '../logger';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { httpTransport, type WebhookTransport } from './webhook-http';
import {
  dropDelivery,
  endpointForSending,
  findDelivery,
  laneHead,
  leaveLane,
  merchantsById,
  moveNextAttempt,
  recordFinal,
  recordRetry,
} from './webhooks';

/**
 * Sending deliveries, shared by the stream consumer (first attempt, right away) and the retry sweep.
 * The rule that keeps a card's events in order for an endpoint: only the first PENDING delivery of its
 * lane (endpoint, card) is ever attempted, and only by whoever holds its lease.
 */
export interface DispatchContext {
  readonly clock: () => Date;
  readonly policy: WebhookUrlPolicy;
  readonly transport: WebhookTransport;
  /** True when the caller should start no new attempt (its Lambda time is running out). */
  readonly outOfTime: () => boolean;
  readonly report: DispatchReport;
}

export interface DispatchReport {
  attempted: number;
  delivered: number;
  retrying: number;
  dead: number;
  dropped: number;
  deferred: number;
}

export const emptyReport = (): DispatchReport => ({
  attempted: 0,
  delivered: 0,
  retrying: 0,
  dead: 0,
  dropped: 0,
  deferred: 0,
});

export function dispatchContext(options: {
  policy: WebhookUrlPolicy;
  clock?: () => Date;
  transport?: WebhookTransport;
  outOfTime?: () => boolean;
}): DispatchContext {
  return {
    clock: options.clock ?? (() => new Date()),
    policy: options.policy,
    transport: options.transport ?? httpTransport,
    outOfTime: options.outOfTime ?? (() => false),
    report: emptyReport(),
  };
}

export type AttemptResult = 'delivered' | 'retrying' | 'dead' | 'dropped';

const USER_AGENT = 'giftcard-webhooks/1.0';

/** A delivery given up on: one metric-friendly line for an alarm (never the URL: it may carry a token). */
function deadLetter(delivery: WebhookDelivery, reason: string | undefined): void {
  countMetric(METRIC.webhookDeliveryDead);
  logger.warn('Webhook delivery dead', {
    metric: METRIC.webhookDeliveryDead,
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    merchantId: delivery.merchantId,
    eventType: delivery.eventType,
    reason: reason ?? 'failed',
  });
}

/** One attempt of a delivery the caller holds the lease of: sign, send, record the outcome. */
export async function attemptDelivery(
  delivery: WebhookDelivery,
  context: DispatchContext,
): Promise<AttemptResult> {
  const now = context.clock();
  const endpoint = await endpointForSending(delivery.webhookId, now);
  if (!endpoint || endpoint.secrets.length === 0) {
    await dropDelivery(delivery);
    context.report.dropped += 1;
    return 'dropped';
  }
  const merchant = (await merchantsById([delivery.merchantId])).get(delivery.merchantId);
  if (!merchant?.programIds.includes(delivery.programId)) {
    // Membership is checked again at sending time: a merchant taken off the program gets nothing more.
    await recordFinal(
      delivery,
      'DEAD',
      { at: now, error: "not sent: the merchant no longer belongs to the card's program" },
      false,
    );
    context.report.dead += 1;
    deadLetter(delivery, 'merchant left the program');
    return 'dead';
  }
  const { webhook, secrets } = endpoint;
  const timestamp = Math.floor(now.getTime() / 1000);
  context.report.attempted += 1;
  const response = await context.transport(
    {
      url: webhook.url,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': USER_AGENT,
        'Webhook-Id': delivery.eventId,
        'Webhook-Timestamp': String(timestamp),
        'Webhook-Signature': signatureHeader(secrets, delivery.eventId, timestamp, delivery.payload),
      },
      body: delivery.payload,
    },
    context.policy,
  );
  const at = context.clock();
  const outcome = {
    at,
    ...(response.statusCode !== undefined ? { statusCode: response.statusCode } : {}),
    ...(response.error !== undefined ? { error: response.error } : {}),
  };
  if (response.ok) {
    await recordFinal(delivery, 'DELIVERED', outcome);
    context.report.delivered += 1;
    return 'delivered';
  }
  const next = afterFailure(delivery.attempts + 1, at, new Date(delivery.deadline));
  if (next.kind === 'dead') {
    await recordFinal(delivery, 'DEAD', outcome);
    context.report.dead += 1;
    deadLetter(delivery, outcome.error);
    return 'dead';
  }
  await recordRetry(delivery, outcome, next.nextAttemptAt);
  context.report.retrying += 1;
  return 'retrying';
}

/**
 * The stream consumer's first attempt of a delivery it just created (and so holds the lease of): sent
 * now when it is first in its lane; otherwise released to the retry sweep, which sends the lane in order.
 */
export async function firstAttempt(
  delivery: WebhookDelivery,
  context: DispatchContext,
  options: { sendNow: boolean },
): Promise<AttemptResult | 'queued'> {
  const head = await laneHead(delivery.webhookId, delivery.cardId);
  if (!options.sendNow || context.outOfTime() || head?.id !== delivery.id) {
    await moveNextAttempt(delivery, context.clock());
    return 'queued';
  }
  return attemptDelivery(delivery, context);
}

/** The most deliveries one lane sends in one sweep, so one busy card cannot hold a run. */
const MAX_LANE_STEPS = 100;

/**
 * Sends a lane's pending deliveries in order, from its head, while they are due and succeed. A head
 * that is not due yet (backing off, or leased by someone else) holds the lane; deliveries behind it
 * that came up as due are moved to the head's time so the sweep does not read them again meanwhile.
 */
export async function drainLane(
  webhookId: string,
  cardId: string,
  dueInLane: readonly WebhookDelivery[],
  context: DispatchContext,
): Promise<void> {
  for (let step = 0; step < MAX_LANE_STEPS && !context.outOfTime(); step++) {
    const headMember = await laneHead(webhookId, cardId);
    if (!headMember) return;
    const head = await findDelivery(headMember.id);
    if (head?.status !== 'PENDING') {
      // A lane member without a pending delivery cannot normally exist (both change in one transaction).
      await leaveLane({ webhookId, cardId, position: headMember.position, id: headMember.id });
      continue;
    }
    const now = context.clock();
    const headTime = head.nextAttemptAt ? Date.parse(head.nextAttemptAt) : 0;
    if (headTime > now.getTime()) {
      for (const waiting of dueInLane) {
        if (waiting.id === head.id || Date.parse(waiting.nextAttemptAt ?? '') >= headTime) continue;
        if (await moveNextAttempt(waiting, new Date(headTime))) context.report.deferred += 1;
      }
      return;
    }
    const leased = await moveNextAttempt(head, new Date(now.getTime() + ATTEMPT_LEASE_MS));
    if (!leased) return;
    const result = await attemptDelivery(leased, context);
    if (result === 'retrying') return;
  }
}
