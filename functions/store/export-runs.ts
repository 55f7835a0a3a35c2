import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SummaryLine } from '../core/export-ledger';
import type { ExportPeriod } from '../core/export-period';
import { exportIdOf, exportKeyPrefix, readableAfter } from '../core/export-period';
import type { Actor } from '../core/ledger';
import { db, tableName } from './dynamo-client';
import type { ExportFile } from './export-files';
import { exportKey, exportSegmentKey, withoutLayout } from './keys';

export const EXPORT_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** A finance export run: one per region and cutoff (its id derives from both). */
export interface ExportRun extends ExportPeriod {
  readonly id: string;
  readonly region: string;
  readonly keyPrefix: string;
  readonly status: ExportStatus;
  readonly requestedBy: Pick<Actor, 'type' | 'id'>;
  /** When reading may start: the cutoff plus the settle margin. */
  readonly notBefore: string;
  /** Fixed by the first plan, so a re-run writes the same part files. */
  readonly segments?: number;
  readonly segmentsDone: number;
  readonly attempt: number;
  readonly files?: readonly ExportFile[];
  readonly totals?: unknown;
  /** The signed root over the cards' chain heads at the cutoff (core/export-seal.ts), once it succeeded. */
  readonly chainRoot?: string;
  readonly error?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
}

export interface SegmentResult {
  readonly exportId: string;
  readonly segment: number;
  readonly status: 'DONE';
  readonly files: readonly ExportFile[];
  readonly lines: readonly SummaryLine[];
  /** Items the scan read (cards, entries, everything else of the segment). */
  readonly itemsScanned: number;
  readonly entriesRead: number;
  /** The Merkle root of the segment's balances part: one leaf per row, in row order (core/merkle-root.ts). */
  readonly chain?: { readonly root: string; readonly cards: number };
  readonly completedAt: string;
}

export async function findExportRun(exportId: string): Promise<ExportRun | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: exportKey(exportId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<ExportRun>(out.Item) : undefined;
}

/**
 * Opens the run of a period, or finds it: the same region and cutoff always name the same run. A new
 * run, or a FAILED one opened again, is to be started (`start`); a PENDING, RUNNING or SUCCEEDED one is
 * returned as it is, so asking twice never runs twice nor writes files twice.
 */
export async function openExportRun(
  period: ExportPeriod,
  region: string,
  requestedBy: Pick<Actor, 'type' | 'id'>,
  now: Date,
): Promise<{ run: ExportRun; start: boolean }> {
  const id = exportIdOf(region, period.cutoff);
  const at = now.toISOString();
  const run: ExportRun = {
    ...period,
    id,
    region,
    keyPrefix: exportKeyPrefix(region, period.month, id),
    status: 'PENDING',
    requestedBy,
    notBefore: readableAfter(period.cutoff),
    segmentsDone: 0,
    attempt: 1,
    createdAt: at,
    updatedAt: at,
  };
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...exportKey(id), ...run },
        // Guarantees: one run per region and cutoff.
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return { run, start: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const existing = await findExportRun(id);
  if (!existing) throw new Error(`Export run ${id} vanished`);
  if (existing.status !== 'FAILED') return { run: existing, start: false };
  try {
    const out = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: exportKey(id),
        UpdateExpression: 'SET #status = :pending, #attempt = #attempt + :one, updatedAt = :at REMOVE #error',
        // Guarantees: a failed run is started again once, however many ask at the same time.
        ConditionExpression: '#status = :failed AND #attempt = :attempt',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#attempt': 'attempt' },
        ExpressionAttributeValues: {
          ':pending': 'PENDING',
          ':failed': 'FAILED',
          ':attempt': existing.attempt,
          ':one': 1,
          ':at': at,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { run: withoutLayout<ExportRun>(out.Attributes ?? {}), start: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const now2 = await findExportRun(id);
    return { run: now2 ?? existing, start: false };
  }
}

/** The plan step: RUNNING, with the number of segments fixed on the first plan. */
export async function markRunning(exportId: string, segments: number, now: Date): Promise<ExportRun> {
  const out = await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: exportKey(exportId),
      UpdateExpression:
        'SET #status = :running, #segments = if_not_exists(#segments, :segments), startedAt = :at, updatedAt = :at',
      ConditionExpression: 'attribute_exists(PK) AND #status <> :succeeded',
      ExpressionAttributeNames: { '#status': 'status', '#segments': 'segments' },
      ExpressionAttributeValues: {
        ':running': 'RUNNING',
        ':succeeded': 'SUCCEEDED',
        ':segments': segments,
        ':at': now.toISOString(),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return withoutLayout<ExportRun>(out.Attributes ?? {});
}

export async function findSegment(exportId: string, segment: number): Promise<SegmentResult | undefined> {
  const out = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: exportSegmentKey(exportId, segment),
      ConsistentRead: true,
    }),
  );
  return out.Item ? withoutLayout<SegmentResult>(out.Item) : undefined;
}

/** A segment's progress while it scans (for GET /v1/exports/{id} and the CLI's progress bar). */
export async function noteSegmentProgress(
  exportId: string,
  segment: number,
  itemsScanned: number,
  now: Date,
): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: exportSegmentKey(exportId, segment),
      UpdateExpression: 'SET exportId = :id, #segment = :segment, itemsScanned = :items, updatedAt = :at',
      ConditionExpression: 'attribute_not_exists(#status) OR #status <> :done',
      ExpressionAttributeNames: { '#status': 'status', '#segment': 'segment' },
      ExpressionAttributeValues: {
        ':id': exportId,
        ':segment': segment,
        ':items': itemsScanned,
        ':at': now.toISOString(),
        ':done': 'DONE',
      },
    }),
  );
}

/** Records a finished segment and counts it on the run, once even when two runs finish it. */
export async function saveSegment(result: SegmentResult): Promise<void> {
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName(),
              Item: { ...exportSegmentKey(result.exportId, result.segment), ...result },
              // Guarantees: a segment counts once towards the run's progress.
              ConditionExpression: 'attribute_not_exists(#status) OR #status <> :done',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':done': 'DONE' },
            },
          },
          {
            Update: {
              TableName: tableName(),
              Key: exportKey(result.exportId),
              UpdateExpression: 'ADD segmentsDone :one SET updatedAt = :at',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeValues: { ':one': 1, ':at': result.completedAt },
            },
          },
        ],
      }),
    );
  } catch (error) {
    // Already DONE (another run of the same export finished it): same files, already counted.
    if (
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
    )
      return;
    throw error;
  }
}

export async function segmentsOf(exportId: string): Promise<SegmentResult[]> {
  const segments: SegmentResult[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :segment)',
        ExpressionAttributeValues: { ':pk': exportKey(exportId).PK, ':segment': 'SEGMENT#' },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    segments.push(...(out.Items ?? []).map((item) => withoutLayout<SegmentResult>(item)));
    start = out.LastEvaluatedKey;
  } while (start);
  return segments;
}

export async function markSucceeded(
  exportId: string,
  files: readonly ExportFile[],
  totals: unknown,
  now: Date,
  chainRoot: string,
): Promise<ExportRun> {
  const out = await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: exportKey(exportId),
      UpdateExpression:
        'SET #status = :succeeded, #files = :files, #totals = :totals, chainRoot = :root, completedAt = :at, updatedAt = :at',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: { '#status': 'status', '#files': 'files', '#totals': 'totals' },
      ExpressionAttributeValues: {
        ':succeeded': 'SUCCEEDED',
        ':files': files,
        ':totals': totals,
        ':root': chainRoot,
        ':at': now.toISOString(),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return withoutLayout<ExportRun>(out.Attributes ?? {});
}

/** FAILED with the reason; a run that already succeeded (a duplicate execution failing late) stays so. */
export async function markFailed(exportId: string, reason: string, now: Date): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: exportKey(exportId),
        UpdateExpression: 'SET #status = :failed, #error = :reason, updatedAt = :at',
        ConditionExpression: 'attribute_exists(PK) AND #status <> :succeeded',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':succeeded': 'SUCCEEDED',
          ':reason': reason.slice(0, 2000),
          ':at': now.toISOString(),
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
