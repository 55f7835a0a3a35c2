import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { config } from '../config';
import type { LedgerEntry } from '../core/ledger';
import type { Merchant } from '../core/merchant';
import { deliveryIdOf, eventIdOf, eventTypesOf, lanePositionOf } from '../core/webhook-events';
import type { Webhook } from '../core/webhook-model';
import { cardView, transactionView } from '../http/views';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { findCard } from '../store/card-reads';
import { withoutLayout } from '../store/keys';
import { type DispatchContext, dispatchContext, firstAttempt } from '../store/webhook-dispatch';
import { allWebhooks, createDelivery, merchantsById } from '../store/webhooks';

/**
 * Turns new ledger entries into webhook events and deliveries. For each entry (TX# INSERT), in stream
 * order, each event goes to every endpoint subscribed to it whose merchant belongs to the card's
 * program: a delivery item is written (its id derives from endpoint and event, so a replayed record
 * writes nothing new) and sent at once when it is first in its lane (endpoint, card). A failed send is
 * left to the retry sweep (functions/scheduled/webhook-retries.ts) with backoff.
 *
 * Records are handled one at a time, in order. A record fails only when the table fails (the endpoint's
 * answer never fails a record); later records of the same card in the batch then fail too, so Lambda's
 * retry from the first failure sees them in order again.
 */

/** Stop sending (deliveries stay queued for the sweep) when less than this is left of the invocation. */
const RESERVED_MS = 15_000;

interface Subscriber {
  readonly webhook: Webhook;
  readonly merchant: Merchant;
}

class Invocation {
  private subscribers: Promise<Subscriber[]> | undefined;
  readonly failedCards = new Set<string>();
  /** Endpoints that failed during this invocation: their next deliveries wait for the sweep. */
  readonly failingEndpoints = new Set<string>();
  readonly dispatch: DispatchContext;

  constructor(context: Context | undefined) {
    this.dispatch = dispatchContext({
      policy: { allowHttpLocalhost: config().WEBHOOKS_ALLOW_HTTP_LOCALHOST },
      outOfTime: () =>
        context?.getRemainingTimeInMillis ? context.getRemainingTimeInMillis() < RESERVED_MS : false,
    });
  }

  /** Every endpoint with its merchant, read once per invocation. */
  endpoints(): Promise<Subscriber[]> {
    this.subscribers ??= (async () => {
      const webhooks = await allWebhooks();
      if (webhooks.length === 0) return [];
      const merchants = await merchantsById(webhooks.map((webhook) => webhook.merchantId));
      return webhooks.flatMap((webhook) => {
        const merchant = merchants.get(webhook.merchantId);
        return merchant ? [{ webhook, merchant }] : [];
      });
    })();
    return this.subscribers;
  }
}

async function processEntry(entry: LedgerEntry, invocation: Invocation): Promise<void> {
  const types = eventTypesOf(entry);
  if (types.length === 0) return;
  const inProgram = (await invocation.endpoints()).filter(({ merchant }) =>
    merchant.programIds.includes(entry.programId),
  );
  const events = types
    .map((type, index) => ({
      type,
      index,
      subscribers: inProgram.filter(({ webhook }) => webhook.events.includes(type)),
    }))
    .filter((event) => event.subscribers.length > 0);
  if (events.length === 0) return;

  const now = invocation.dispatch.clock();
  const card = await findCard(entry.cardId);
  const data = { card: card ? cardView(card, now) : null, transaction: transactionView(entry) };
  for (const event of events) {
    const eventId = eventIdOf(entry.id, event.type);
    const payload = JSON.stringify({ id: eventId, type: event.type, createdAt: entry.createdAt, data });
    for (const { webhook } of event.subscribers) {
      const created = await createDelivery(
        {
          id: deliveryIdOf(webhook.id, eventId),
          webhookId: webhook.id,
          merchantId: webhook.merchantId,
          eventId,
          eventType: event.type,
          cardId: entry.cardId,
          programId: entry.programId,
          position: lanePositionOf(entry.seq, event.index),
          payload,
          eventCreatedAt: entry.createdAt,
        },
        now,
      );
      if (created.kind === 'exists') continue;
      const result = await firstAttempt(created.delivery, invocation.dispatch, {
        sendNow: !invocation.failingEndpoints.has(webhook.id),
      });
      if (result === 'retrying' || result === 'dead') invocation.failingEndpoints.add(webhook.id);
    }
  }
}

async function handleRecord(record: DynamoDBRecord, invocation: Invocation): Promise<void> {
  const image = record.dynamodb?.NewImage;
  if (!image) return;
  const entry = withoutLayout<LedgerEntry>(unmarshall(image as Record<string, AttributeValue>));
  if (invocation.failedCards.has(entry.cardId)) {
    throw new Error(`an earlier entry of card ${entry.cardId} failed in this batch; retried in order`);
  }
  try {
    await processEntry(entry, invocation);
  } catch (error) {
    invocation.failedCards.add(entry.cardId);
    throw error;
  }
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  const invocation = new Invocation(context);
  // One processor per invocation: the local poller may run invocations side by side in one process.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  const response = await processPartialResponse(
    event,
    (record: DynamoDBRecord) => handleRecord(record, invocation),
    processor,
    { context, processInParallel: false },
  );
  const { report } = invocation.dispatch;
  if (report.attempted > 0 || report.dead > 0) logger.debug('Webhook deliveries', { ...report });
  return response;
}

export const handler = observed(handle);
