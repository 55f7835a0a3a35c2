import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Card } from '../core/card';
import { googleClassId } from '../core/google-wallet';
import type { WalletMessage } from '../core/wallet-message';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { type ApnsAuth, apnsAuth, PushFailedError, pushPassUpdate } from '../store/apns';
import {
  applePushTargets,
  findApplePass,
  programApplePushTargets,
  removeAppleRegistration,
  stampApplePassVersion,
} from '../store/apple-passes';
import { markPassChangedOnDevice } from '../store/apple-update-tags';
import { findCard } from '../store/card-reads';
import { findGoogleClassId, findGoogleObjectId, notifyingMessages } from '../store/google-objects';
import { withoutLayout } from '../store/keys';
import { googleServiceAccount } from '../store/push-credentials';
import { noteLatestWalletMessage } from '../store/wallet-messages';
import { findPushProgress, savePushProgress } from '../store/wallet-push-progress';
import { deliverGoogleMessage, keepGoogleObjectCurrent } from '../wallet/google-passes';

/**
 * Keeps wallet passes current. For each record, in stream order:
 * - a card item MODIFY that changed balance, available, status or expiry: one APNs push to every device
 *   registered for the card's Apple pass (the device then fetches the new pass, whose changeMessage
 *   shows the notification), and one PATCH of the card's Google object with the new balance and state;
 * - a new wallet message (WALLETMSG# INSERT) to a card or a program: pushes to the card's devices or to
 *   every device of the program (page by page), and Google addMessage on the card's object or the
 *   program's class, notifying for at most 3 messages per pass in 24 h (TEXT after that).
 *
 * Before any push, the pass gets a new version (its Last-Modified) and each device registered for it a new
 * update tag (store/apple-update-tags.ts), so the device that wakes finds the change in its update list
 * and fetches it. Without push credentials the versions and tags are still written and the pushes are
 * skipped, counted by a metric (WalletPushSkipped); the devices see the change when they next ask.
 *
 * APNs 410, BadDeviceToken and DeviceTokenNotForTopic remove the registration, as Apple asks (not a
 * failure). Anything that fails for now (APNs or Google 429/5xx,
 * network, configuration) fails the record: a partial batch failure, retried by Lambda, then the DLQ.
 * Later records of the same card or program in the batch fail with it, so the retry keeps their order.
 *
 * Replays: pushes may repeat (harmless: the device fetches the same pass); the PATCH is idempotent (an
 * object Google lacks is inserted with the card's state); a Google message is decided (notify or not) at
 * its first delivery and added once: a delivery that finds its decision without the mark that it was
 * added looks at Google's copy first (functions/wallet/google-passes.ts).
 */

const PUSH_CONCURRENCY = 16;

/** The first call's promise, shared by every later call (a failed one is tried again). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let held: Promise<T> | undefined;
  return () => {
    held ??= load().catch((error: unknown) => {
      held = undefined;
      throw error;
    });
    return held;
  };
}
/** A program message stops before the next page of devices when less than this is left of the invocation. */
const RESERVED_MS = 30_000;

type Image = Record<string, unknown>;

const imageOf = (raw: unknown): Image | undefined =>
  raw ? unmarshall(raw as Record<string, AttributeValue>) : undefined;

/** The fields a pass shows: any other change of the card item (seq of a PIN entry...) is no news. */
const PASS_FIELDS = ['balance', 'available', 'status', 'expiresAt', 'currency'] as const;
const passChanged = (before: Image, after: Image): boolean =>
  PASS_FIELDS.some((field) => before[field] !== after[field]);

interface Invocation {
  /** Cards and programs with a failed record in this batch: their later records wait for the retry. */
  readonly failedSubjects: Set<string>;
  /** passTypeIdentifier per card (APNs topic), read once per invocation. */
  readonly topics: Map<string, Promise<string | undefined>>;
  readonly report: {
    pushes: number;
    unregistered: number;
    rejected: number;
    skipped: number;
    patches: number;
    messages: number;
  };
  /** How pushes authenticate, resolved once per invocation; undefined: no credentials, skipped. */
  readonly auth: () => Promise<ApnsAuth | undefined>;
  /** Milliseconds left of the Lambda invocation. */
  readonly remainingMs: () => number;
  /** Per card, the last card change of the batch: earlier ones are superseded by it. */
  readonly lastChange: Map<string, DynamoDBRecord>;
}

interface PushTarget {
  readonly cardId: string;
  readonly deviceLibraryIdentifier: string;
  readonly pushToken: string;
  readonly passTypeIdentifier?: string;
}

function topicOf(target: PushTarget, invocation: Invocation): Promise<string | undefined> {
  if (target.passTypeIdentifier) return Promise.resolve(target.passTypeIdentifier);
  let topic = invocation.topics.get(target.cardId);
  if (!topic) {
    topic = findApplePass(target.cardId).then((pass) => pass?.passTypeIdentifier);
    invocation.topics.set(target.cardId, topic);
  }
  return topic;
}

/** Tags the change on the device, then pushes; removes the registration when APNs says the device is gone. */
async function pushOne(target: PushTarget, invocation: Invocation): Promise<void> {
  const tag = await markPassChangedOnDevice(target.cardId, target.deviceLibraryIdentifier);
  if (tag === 'unregistered') return;
  const auth = await invocation.auth();
  if (!auth) {
    invocation.report.skipped += 1;
    return;
  }
  const topic = await topicOf(target, invocation);
  if (!topic) {
    logger.warn('Apple registration without a pass: not pushed', { cardId: target.cardId });
    return;
  }
  const outcome = await pushPassUpdate(target.pushToken, topic, auth);
  invocation.report.pushes += 1;
  if (outcome.kind === 'gone') {
    // Only while the registration holds the token APNs refused: a device that registered again with a
    // new token meanwhile stays registered.
    const removed = await removeAppleRegistration(
      target.cardId,
      target.deviceLibraryIdentifier,
      target.pushToken,
    );
    if (removed === 'removed') invocation.report.unregistered += 1;
    logger.info(
      removed === 'removed'
        ? 'APNs says the device is gone: registration removed'
        : 'APNs refused an old push token: the device registered again with a new one, kept',
      { cardId: target.cardId, status: outcome.status, reason: outcome.reason },
    );
  } else if (outcome.kind === 'rejected') {
    invocation.report.rejected += 1;
    logger.warn('APNs refused a pass push', {
      cardId: target.cardId,
      status: outcome.status,
      reason: outcome.reason,
    });
  }
}

/** Pushes to every target (PUSH_CONCURRENCY at a time); throws if any failed for now. */
async function pushAll(targets: readonly PushTarget[], invocation: Invocation): Promise<void> {
  const failures: Error[] = [];
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++] as PushTarget;
      try {
        await pushOne(target, invocation);
      } catch (error) {
        failures.push(error as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUSH_CONCURRENCY, targets.length) }, worker));
  if (failures.length > 0) {
    const first = failures[0] as Error;
    throw new PushFailedError(
      `${failures.length} of ${targets.length} pass pushes failed: ${first.message}`,
      first instanceof PushFailedError ? first.status : undefined,
    );
  }
}

async function cardTargets(cardId: string): Promise<PushTarget[]> {
  return (await applePushTargets(cardId)).map((target) => ({ ...target, cardId }));
}

async function cardChanged(card: Card, invocation: Invocation): Promise<void> {
  await stampApplePassVersion(card.id, new Date());
  await pushAll(await cardTargets(card.id), invocation);
  const objectId = await findGoogleObjectId(card.id);
  if (!objectId || !(await googleServiceAccount())) return;
  await keepGoogleObjectCurrent(card, objectId, new Date());
  invocation.report.patches += 1;
}

interface WalletMessageImage {
  readonly id: string;
  readonly cardId?: string;
  readonly programId?: string;
  readonly header: string;
  readonly body: string;
  readonly createdAt: string;
}

async function sendGoogleMessage(
  on: 'giftCardObject' | 'giftCardClass',
  resourceId: string,
  message: WalletMessageImage,
  alsoNotified: number,
  invocation: Invocation,
): Promise<void> {
  const sent = await deliverGoogleMessage(
    on,
    resourceId,
    { id: message.id, header: message.header, body: message.body },
    alsoNotified,
    new Date(),
  );
  if (sent) invocation.report.messages += 1;
}

async function cardMessage(cardId: string, message: WalletMessageImage, invocation: Invocation) {
  // The pass shows the latest message: a new version of it.
  await stampApplePassVersion(cardId, new Date());
  await pushAll(await cardTargets(cardId), invocation);
  const objectId = await findGoogleObjectId(cardId);
  const account = objectId ? await googleServiceAccount() : undefined;
  if (!objectId || !account) return;
  const card = await findCard(cardId);
  // Class messages reach this pass too and count against its three notifications a day (at delivery).
  const classNotified = card
    ? await notifyingMessages(googleClassId(account.issuerId, card.programId), new Date())
    : 0;
  await sendGoogleMessage('giftCardObject', objectId, message, classNotified, invocation);
}

async function programMessage(programId: string, message: WalletMessageImage, invocation: Invocation) {
  // Resumes where an earlier delivery of this record stopped; a replay after all pages pushes nothing.
  const progress = await findPushProgress(programId, message.id);
  let cursor = progress ? progress.cursor : undefined;
  while (cursor !== null) {
    if (invocation.remainingMs() < RESERVED_MS) {
      throw new Error(`out of time pushing message ${message.id}; the retry resumes at the saved page`);
    }
    const page = await programApplePushTargets(programId, cursor);
    await stampVersions([...new Set(page.items.map((item) => item.cardId))]);
    await pushAll(page.items, invocation);
    cursor = page.nextCursor;
    await savePushProgress(programId, message.id, cursor);
  }
  const classId = await findGoogleClassId(programId);
  if (!classId || !(await googleServiceAccount())) return;
  await sendGoogleMessage('giftCardClass', classId, message, 0, invocation);
}

/** New versions for the passes of a page of devices, PUSH_CONCURRENCY at a time. */
async function stampVersions(cardIds: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cardIds.length) await stampApplePassVersion(cardIds[next++] as string, new Date());
  };
  await Promise.all(Array.from({ length: Math.min(PUSH_CONCURRENCY, cardIds.length) }, worker));
}

/** What the record is about, for ordering: `card#<id>` or `program#<id>`; undefined for nothing to do. */
function subjectOf(record: DynamoDBRecord): string | undefined {
  const pk = record.dynamodb?.Keys?.PK?.S ?? '';
  if (pk.startsWith('CARD#')) return `card#${pk.slice('CARD#'.length)}`;
  if (pk.startsWith('PROGRAM#')) return `program#${pk.slice('PROGRAM#'.length)}`;
  return undefined;
}

/** The card id of a card item MODIFY that changed what its passes show; undefined for anything else. */
function passChangeOf(record: DynamoDBRecord): string | undefined {
  if (record.eventName !== 'MODIFY' || record.dynamodb?.Keys?.SK?.S !== 'CARD') return undefined;
  const before = imageOf(record.dynamodb.OldImage);
  const after = imageOf(record.dynamodb.NewImage);
  if (!before || !after || !passChanged(before, after) || typeof after.id !== 'string') return undefined;
  return after.id;
}

async function processRecord(record: DynamoDBRecord, invocation: Invocation): Promise<void> {
  const sk = record.dynamodb?.Keys?.SK?.S ?? '';
  const after = imageOf(record.dynamodb?.NewImage);
  if (!after) return;
  if (sk === 'CARD') {
    const cardId = passChangeOf(record);
    // A later change of the same card in this batch pushes and PATCHes the newer state once for both
    // (if that one fails, the retry starts at it, and it still carries the newest state).
    if (!cardId || invocation.lastChange.get(cardId) !== record) return;
    await cardChanged(withoutLayout<Card>(after), invocation);
    return;
  }
  if (sk.startsWith('WALLETMSG#') && record.eventName === 'INSERT') {
    const message = withoutLayout<WalletMessage>(after);
    // Recorded as the partition's latest before any pass gets its new version, so a device fetching
    // after the push reads it (a promotion's messages have no other way there; an API message's own
    // transaction did it already, and this changes nothing).
    await noteLatestWalletMessage(message);
    if (message.cardId) await cardMessage(message.cardId, message, invocation);
    else if (message.programId) await programMessage(message.programId, message, invocation);
  }
}

async function handleRecord(record: DynamoDBRecord, invocation: Invocation): Promise<void> {
  const subject = subjectOf(record);
  if (subject && invocation.failedSubjects.has(subject)) {
    throw new Error(`an earlier record of ${subject} failed in this batch; retried in order`);
  }
  try {
    await processRecord(record, invocation);
  } catch (error) {
    if (subject) invocation.failedSubjects.add(subject);
    logger.warn('Wallet sync failed; the record is retried', {
      subject,
      error: (error as Error).message,
    });
    throw error;
  }
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  const invocation: Invocation = {
    failedSubjects: new Set(),
    topics: new Map(),
    report: { pushes: 0, unregistered: 0, rejected: 0, skipped: 0, patches: 0, messages: 0 },
    auth: once(apnsAuth),
    remainingMs: () =>
      context?.getRemainingTimeInMillis ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY,
    lastChange: new Map(),
  };
  for (const record of event.Records) {
    const cardId = passChangeOf(record);
    if (cardId) invocation.lastChange.set(cardId, record);
  }
  // One processor per invocation: the local poller may run invocations side by side in one process.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  const response = await processPartialResponse(
    event,
    (record: DynamoDBRecord) => handleRecord(record, invocation),
    processor,
    { context, processInParallel: false },
  );
  if (invocation.report.skipped > 0) {
    // Passes are served, devices are not woken: counted (METRIC.walletPushSkipped), no alarm.
    logger.warn('Wallet pushes skipped: no APNs credentials', {
      metric: METRIC.walletPushSkipped,
      skipped: invocation.report.skipped,
    });
    countMetric(METRIC.walletPushSkipped, invocation.report.skipped);
  }
  if (invocation.report.pushes > 0 || invocation.report.patches > 0 || invocation.report.messages > 0) {
    logger.debug('Wallet sync', { ...invocation.report });
  }
  return response;
}

export const handler = observed(handle);
