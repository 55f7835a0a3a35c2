import type { Context } from 'aws-lambda';
import { config } from '../config';
import type { WebhookDelivery } from '../core/webhook-model';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { recordedRun } from '../store/job-runs';
import { type DispatchReport, dispatchContext, drainLane } from '../store/webhook-dispatch';
import type { WebhookTransport } from '../store/webhook-http';
import { deliveriesById, dueDeliveryIds } from '../store/webhooks';

/**
 * The webhook retry sweep: every minute (EventBridge in AWS, a timer under `npm start`), finds the
 * deliveries whose next attempt is due, and sends each lane (endpoint, card) in event order from its
 * first pending delivery, stopping a lane at its first failure. Deliveries past their 24 h window end
 * DEAD, visible through GET /v1/webhooks/{webhookId}/deliveries?status=DEAD.
 *
 * Runs may overlap: each attempt is preceded by a conditional lease on the delivery, so no delivery is
 * sent by two runs at once.
 */
export interface WebhookRetryOptions {
  /** The time the run acts at (tests move it forward instead of sleeping); default: the real clock. */
  readonly now?: Date;
  readonly transport?: WebhookTransport;
  /** Most due deliveries read in one run; default 1000 (the next run takes the rest). */
  readonly maxDeliveries?: number;
  /** True when no new attempt should start (the function's time is running out). */
  readonly outOfTime?: () => boolean;
}

export interface WebhookRetryReport extends DispatchReport {
  readonly due: number;
  readonly lanes: number;
  readonly failedLanes: number;
  /** The scheduled jobs' common figures (local/scheduler.ts logs them). */
  readonly examined: number;
  readonly changed: number;
  readonly failed: number;
}

const LANES_IN_PARALLEL = 8;

export async function runWebhookRetries(options: WebhookRetryOptions = {}): Promise<WebhookRetryReport> {
  const fixed = options.now;
  const context = dispatchContext({
    policy: { allowHttpLocalhost: config().WEBHOOKS_ALLOW_HTTP_LOCALHOST },
    clock: fixed ? () => fixed : () => new Date(),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.outOfTime ? { outOfTime: options.outOfTime } : {}),
  });
  const ids = await dueDeliveryIds(context.clock(), options.maxDeliveries ?? 1000);
  const lanes = new Map<string, WebhookDelivery[]>();
  for (const delivery of await deliveriesById(ids)) {
    if (delivery.status !== 'PENDING') continue;
    const key = `${delivery.webhookId}|${delivery.cardId}`;
    lanes.set(key, [...(lanes.get(key) ?? []), delivery]);
  }
  const queue = [...lanes.values()];
  let failedLanes = 0;
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      const first = lane[0];
      if (!first) continue;
      try {
        await drainLane(first.webhookId, first.cardId, lane, context);
      } catch (error) {
        // The lane's deliveries stay due; the next run takes them again.
        failedLanes += 1;
        logger.error('Webhook lane failed', { webhookId: first.webhookId, error: error as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: LANES_IN_PARALLEL }, worker));
  const { report } = context;
  return {
    due: ids.length,
    lanes: lanes.size,
    failedLanes,
    ...report,
    examined: ids.length,
    changed: report.delivered + report.retrying + report.dead + report.dropped + report.deferred,
    failed: failedLanes,
  };
}

/** The scheduled jobs' calling convention: `run(now?)`. */
export const run = (now?: Date): Promise<WebhookRetryReport> => runWebhookRetries(now ? { now } : {});

/** Time kept back at the end of the invocation: an attempt takes up to 5 s, its bookkeeping a little more. */
const RESERVED_MS = 20_000;

async function handle(_event?: unknown, context?: Context): Promise<WebhookRetryReport> {
  const report = await recordedRun('webhook-retries', () =>
    runWebhookRetries(
      context?.getRemainingTimeInMillis
        ? { outOfTime: () => context.getRemainingTimeInMillis() < RESERVED_MS }
        : {},
    ),
  );
  logger.info('Webhook retries', { ...report });
  if (report.failedLanes > 0) throw new Error(`${report.failedLanes} webhook lanes failed; retried next run`);
  return report;
}

export const handler = observed(handle);
