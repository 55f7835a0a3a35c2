import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../core/errors';
import type { PointsAccount, PointsChange, PointsEntry } from '../core/points';
import { requestClock } from '../core/request-clock';
import { laneBusy, oneAtATime, tick } from './card-queue';
import { db, tableName } from './dynamo-client';
import { findReplay, type IdempotencyClaim } from './idempotency';
import {
  memberPartition,
  POINTS_ENTRY_PREFIX,
  pointsAccountKey,
  pointsEntryKey,
  pointsEntrySortKey,
  pointsSourceKey,
  withoutLayout,
} from './keys';
import { batchGet } from './listing';
import { decodeCursor, encodeCursor, type Page } from './pagination';
import {
  accountUpdate,
  earnSourcePut,
  entryPut,
  type PointsSourceMarker,
  toSourceMarker,
} from './points-items';
import { backoff, keyInProgress, type TransactItem, writeAtomically } from './transact';

/**
 * The points ledger's commit engine and reads. A change is planned on the member's account and written
 * in one TransactWriteItems: the account (conditional on its version), the entry (append-only), and the
 * exactly-once record that protects it (the source marker of an earn, or the Idempotency-Key record of
 * a spend). Take-backs of earns (refunds, reversals) commit through store/points-take-back.ts, on the
 * same lane. It decides nothing: core/points.ts plans, functions/app/points.ts chooses the plan.
 */

/** What a change must record besides account and entry, so it can never happen twice. */
export type PointsOnce =
  /** `sourceAmountMinor`: the earning card entry's amount, kept on the marker for refunds' shares. */
  | { readonly kind: 'earn'; readonly sourceId: string; readonly sourceAmountMinor?: number | undefined }
  | { readonly kind: 'key'; readonly claim: IdempotencyClaim };

/**
 * Plans a change on the account as read (undefined: no account yet), at the attempt's time. Undefined:
 * nothing to write (an expiry with nothing to expire). May read (the entries an expiry looks at).
 */
export type PointsPlan = (account: PointsAccount | undefined, now: Date) => Promise<PointsChange | undefined>;

export interface PointsCommitted {
  /** The entry written, or the earlier one this request repeats; undefined when nothing was to change. */
  readonly entry: PointsEntry | undefined;
  readonly replayed: boolean;
}

export interface PointsCommitOptions {
  readonly once?: PointsOnce | undefined;
  /** The request's clock (tests and jobs may set it); each attempt plans at it plus the time elapsed. */
  readonly now?: Date | undefined;
  /**
   * Queue this process's changes to the member one after another (default). An optimisation only:
   * correctness across processes comes from the write conditions, which tests exercise without it.
   */
  readonly singleFlight?: boolean | undefined;
}

/** Attempts before a change on a contended account answers CONFLICT: every retry has a bound. */
export const POINTS_COMMIT_ATTEMPTS = 25;
const BACKOFF_CAP_MS = 250;

export async function commitPoints(
  memberId: string,
  plan: PointsPlan,
  options: PointsCommitOptions = {},
): Promise<PointsCommitted> {
  const claim = options.once?.kind === 'key' ? options.once.claim : undefined;
  try {
    return await inMemberLane(memberId, options.singleFlight, (arrivedAt) =>
      commitWithRetries(memberId, arrivedAt, plan, options),
    );
  } catch (error) {
    // A refusal may be the retry of a spend that already committed: answer as the first time.
    if (!(error instanceof DomainError) || !claim || error.code === 'IDEMPOTENCY_KEY_REUSED') throw error;
    const earlier = await findReplay<PointsEntry>(claim, new Date());
    if (earlier !== undefined) return { entry: earlier, replayed: true };
    throw error;
  }
}

/**
 * Runs a commit in the member's lane (one after another in this process, unless `singleFlight` is
 * false), handing it the time it arrived; the lane's caches go when the lane is idle.
 */
export async function inMemberLane<T>(
  memberId: string,
  singleFlight: boolean | undefined,
  commit: (arrivedAt: number) => Promise<T>,
): Promise<T> {
  const arrivedAt = tick();
  const lane = memberPartition(memberId);
  try {
    return await (singleFlight === false ? commit(arrivedAt) : oneAtATime(lane, () => commit(arrivedAt)));
  } finally {
    if (!laneBusy(lane)) {
      seenAccounts.delete(memberId);
      committedOnce.delete(memberId);
    }
  }
}

/**
 * The latest account state this process read or wrote, while changes to the member queue in its lane:
 * a change may plan on a state seen by a call sent after it arrived (as true as a fresh read, see
 * store/card-queue.ts); a stale one only fails its condition and plans again.
 */
const seenAccounts = new Map<string, { readonly account: PointsAccount; readonly sentAt: number }>();

export function noteAccount(account: PointsAccount, sentAt: number): void {
  const seen = seenAccounts.get(account.memberId);
  if (laneBusy(memberPartition(account.memberId)) && (!seen || seen.sentAt < sentAt)) {
    seenAccounts.set(account.memberId, { account, sentAt });
  }
}

/**
 * The earns this process committed for a member while its lane is busy: a duplicate queued behind them
 * (a stream retry delivered twice at once) answers the earlier entry without a write that could only
 * fail its marker's condition.
 */
const committedOnce = new Map<string, Map<string, PointsEntry>>();
const onceName = (once: Exclude<PointsOnce, { kind: 'key' }>) => `${once.kind}#${once.sourceId}`;

function noteOnce(once: PointsOnce | undefined, entry: PointsEntry): void {
  if (!once || once.kind === 'key' || !laneBusy(memberPartition(entry.memberId))) return;
  const byName = committedOnce.get(entry.memberId) ?? new Map<string, PointsEntry>();
  committedOnce.set(entry.memberId, byName);
  byName.set(onceName(once), entry);
}

/** The account as seen since `arrivedAt` in the lane, else as read now. */
export async function accountSince(memberId: string, arrivedAt: number): Promise<PointsAccount | undefined> {
  const seen = seenAccounts.get(memberId);
  if (seen && seen.sentAt > arrivedAt) return seen.account;
  const sentAt = tick();
  const account = await findPointsAccount(memberId);
  if (account) noteAccount(account, sentAt);
  return account;
}

async function commitWithRetries(
  memberId: string,
  arrivedAt: number,
  plan: PointsPlan,
  options: PointsCommitOptions,
): Promise<PointsCommitted> {
  const clock = requestClock(options.now);
  const once = options.once;
  let known: PointsAccount | undefined;
  let keyBusy = false;
  for (let attempt = 0; attempt < POINTS_COMMIT_ATTEMPTS; attempt++) {
    // After a failed write without a fresh state (a conflict), read: what the lane saw may be the stale one.
    const account = known ?? (await accountSince(memberId, attempt === 0 ? arrivedAt : tick()));
    known = undefined;
    const change = await plan(account, clock());
    if (!change) return { entry: undefined, replayed: false };
    if (change.account.memberId !== memberId)
      throw new Error(`A change of ${memberId} planned on another member`);
    const done = once && once.kind !== 'key' ? committedOnce.get(memberId)?.get(onceName(once)) : undefined;
    if (once && once.kind !== 'key' && done) {
      requireSameSource(once, change, { memberId: done.memberId, points: done.points, earnSeq: done.seq });
      return { entry: done, replayed: true };
    }
    const items = [accountUpdate(change), entryPut(change.entry), ...onceItems(once, change.entry)];
    const claim = once?.kind === 'key' ? once.claim : undefined;
    const sentAt = tick();
    const outcome = await writeAtomically(items, { claim, result: change.entry, now: clock() });
    if (outcome.kind === 'committed') {
      noteAccount(change.account, sentAt);
      noteOnce(once, change.entry);
      return { entry: change.entry, replayed: false };
    }
    if (outcome.kind === 'replayed') return { entry: outcome.result, replayed: true };
    if (outcome.kind === 'key-busy') keyBusy = true;
    if (outcome.kind === 'cancelled') {
      const marker = outcome.reasons[2];
      if (once && once.kind !== 'key' && marker?.code === 'ConditionalCheckFailed') {
        const earlier = marker.item ? toSourceMarker(marker.item) : undefined;
        return { entry: await earlierEntry(once, change, earlier), replayed: true };
      }
      const [accountReason] = outcome.reasons;
      // The account moved on since it was read: plan again at once on the state the condition returned.
      if (accountReason?.code === 'ConditionalCheckFailed' && accountReason.item) {
        known = withoutLayout<PointsAccount>(accountReason.item);
        noteAccount(known, sentAt);
        if (attempt < 3) continue;
      }
    }
    // One account item: a short cap keeps the bounded attempts within a request's time.
    await backoff(attempt, 10, BACKOFF_CAP_MS);
  }
  if (keyBusy) throw keyInProgress();
  throw new DomainError('CONFLICT', 'The member is busy with other points changes; retry the request.');
}

function onceItems(once: PointsOnce | undefined, entry: PointsEntry): TransactItem[] {
  if (once?.kind === 'earn') return [earnSourcePut(once.sourceId, entry, once.sourceAmountMinor)];
  // An Idempotency-Key record is added by writeAtomically, after these items.
  return [];
}

/** The entry an earlier request wrote for this source: the same earn. */
async function earlierEntry(
  once: Exclude<PointsOnce, { kind: 'key' }>,
  change: PointsChange,
  marker: Omit<PointsSourceMarker, 'sourceId'> | undefined,
): Promise<PointsEntry> {
  const same = requireSameSource(once, change, marker);
  return requireEntry(same.memberId, same.earnSeq);
}

/** A source repeats only as itself: the same member and the same points (else 422). */
function requireSameSource<M extends Omit<PointsSourceMarker, 'sourceId'>>(
  once: Exclude<PointsOnce, { kind: 'key' }>,
  change: PointsChange,
  marker: M | undefined,
): M {
  const other = !marker || marker.memberId !== change.entry.memberId || marker.points !== change.entry.points;
  if (other) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', `Source ${once.sourceId} already earned other points.`);
  }
  return marker;
}

export async function requireEntry(memberId: string, seq: number): Promise<PointsEntry> {
  const entry = await findPointsEntry(memberId, seq);
  // Marker and entry commit together: a marker naming no entry is a broken invariant, not a refusal.
  if (!entry) throw new Error(`Points entry ${seq} of ${memberId} is missing under its marker`);
  return entry;
}

export async function findPointsAccount(memberId: string): Promise<PointsAccount | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: pointsAccountKey(memberId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<PointsAccount>(out.Item) : undefined;
}

/** Several members' accounts in one BatchGet (eventually consistent: a promotion's targeting reads). */
export async function findPointsAccounts(memberIds: readonly string[]): Promise<Map<string, PointsAccount>> {
  const items = await batchGet(memberIds.map(pointsAccountKey));
  const accounts = new Map<string, PointsAccount>();
  for (const memberId of memberIds) {
    const key = pointsAccountKey(memberId);
    const item = items.get(`${key.PK}|${key.SK}`);
    if (item) accounts.set(memberId, withoutLayout<PointsAccount>(item));
  }
  return accounts;
}

export async function findPointsEntry(memberId: string, seq: number): Promise<PointsEntry | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: pointsEntryKey(memberId, seq), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<PointsEntry>(out.Item) : undefined;
}

export async function findPointsSource(sourceId: string): Promise<PointsSourceMarker | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: pointsSourceKey(sourceId), ConsistentRead: true }),
  );
  return out.Item ? toSourceMarker(out.Item) : undefined;
}

/** The most a page of entries holds. */
export const MAX_POINTS_PAGE = 200;

/** The member's points ledger, newest first. */
export async function pointsHistory(
  memberId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<PointsEntry>> {
  const pk = memberPartition(memberId);
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': POINTS_ENTRY_PREFIX },
      ScanIndexForward: false,
      Limit: Math.min(Math.max(1, limit), MAX_POINTS_PAGE),
      ExclusiveStartKey: decodeCursor(cursor, { PK: pk }),
    }),
  );
  return {
    items: (out.Items ?? []).map((item) => withoutLayout<PointsEntry>(item)),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

/** The most entries an expiry looks at: a member earning more often than this within the window is a fault. */
export const MAX_EXPIRY_WINDOW_ENTRIES = 100_000;

/**
 * The member's entries numbered up to `upToSeq` made after `after`, newest first (entries are numbered
 * in the order they commit, and each is dated by its own write). Read consistently, so every entry of
 * the account version the caller holds is seen.
 */
export async function pointsEntriesAfter(
  memberId: string,
  upToSeq: number,
  after: Date,
): Promise<PointsEntry[]> {
  const afterIso = after.toISOString();
  const entries: PointsEntry[] = [];
  let start: Record<string, unknown> | undefined;
  if (upToSeq === 0) return entries;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': memberPartition(memberId),
          ':first': pointsEntrySortKey(1),
          ':last': pointsEntrySortKey(upToSeq),
        },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 500,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const entry = withoutLayout<PointsEntry>(item);
      if (entry.createdAt <= afterIso) return entries;
      entries.push(entry);
    }
    if (entries.length > MAX_EXPIRY_WINDOW_ENTRIES) {
      throw new Error(`Member ${memberId} has more than ${MAX_EXPIRY_WINDOW_ENTRIES} entries in the window`);
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return entries;
}

/** Every entry of a member, oldest first (reconciliation and tests). */
export async function allPointsEntries(memberId: string): Promise<PointsEntry[]> {
  const entries: PointsEntry[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': memberPartition(memberId), ':prefix': POINTS_ENTRY_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    entries.push(...(out.Items ?? []).map((item) => withoutLayout<PointsEntry>(item)));
    start = out.LastEvaluatedKey;
  } while (start);
  return entries;
}
