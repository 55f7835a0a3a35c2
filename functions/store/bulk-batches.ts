import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { BulkBatch, BulkResultFile } from '../core/bulk/bulk-batch-model';
import type { BulkResultRow } from '../core/bulk/bulk-result-row';
import type { BulkProblem } from '../core/bulk-batch';
import { db, tableName } from './dynamo-client';
import {
  BULK_BATCHES_INDEX_PK,
  BULK_RUNNING_INDEX_PK,
  bulkBatchKey,
  bulkChunkKey,
  withoutLayout,
} from './keys';
import { decodeCursorWhere, encodeCursor, type Page } from './pagination';
import { openValue, sealValue } from './sealed-values';
import type { TransactItem } from './transact';

/**
 * Bulk batches and their chunk results (layout in keys.ts):
 *
 *   BULK#<id> / BATCH            the batch: status, totals, progress (GSI1: BULKBATCHES / <createdAt>#<id>;
 *                                GSI2: BULK#RUNNING / <id> while it runs, for the resume job)
 *   BULK#<id> / CHUNK#<n>        a finished chunk's result rows, sealed (codes and claim links)
 *
 * Progress moves only forward: a chunk's results are written before `chunksDone` passes it, and the
 * update is conditioned on the count it read, so two runners of one batch can never skip a chunk.
 */
const MAX_STORED_PROBLEMS = 1000;

export async function createBulkBatch(batch: BulkBatch): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...bulkBatchKey(batch.id),
        GSI1PK: BULK_BATCHES_INDEX_PK,
        GSI1SK: `${batch.createdAt}#${batch.id}`,
        ...batch,
      },
      // Guarantees: a batch id is used once.
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function findBulkBatch(batchId: string): Promise<BulkBatch | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: bulkBatchKey(batchId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<BulkBatch>(out.Item) : undefined;
}

/** The validation's verdict on an AWAITING_FILE batch; false when it was already decided. */
export async function decideBulkBatch(
  batchId: string,
  verdict: {
    readonly status: 'REFUSED' | 'RUNNING';
    readonly rows: number;
    readonly totalMinor: number;
    readonly chunks: number;
    readonly problems: readonly BulkProblem[];
    readonly moreProblems: number;
  },
  now: Date,
  alongside: readonly TransactItem[] = [],
): Promise<boolean> {
  const problems = verdict.problems.slice(0, MAX_STORED_PROBLEMS);
  const running = verdict.status === 'RUNNING';
  const update = {
    TableName: tableName(),
    Key: bulkBatchKey(batchId),
    UpdateExpression:
      'SET #status = :status, #rows = :rows, totalMinor = :total, chunks = :chunks, problems = :problems, ' +
      `moreProblems = :more, submittedAt = :now, updatedAt = :now${running ? ', GSI2PK = :running, GSI2SK = :id' : ''}`,
    // Guarantees: a file is judged once; a RUNNING batch is never re-validated (its rows could change).
    ConditionExpression: '#status = :awaiting',
    ExpressionAttributeNames: { '#status': 'status', '#rows': 'rows' },
    ExpressionAttributeValues: {
      ':status': verdict.status,
      ':rows': verdict.rows,
      ':total': verdict.totalMinor,
      ':chunks': verdict.chunks,
      ':problems': problems,
      ':more': verdict.moreProblems + (verdict.problems.length - problems.length),
      ':now': now.toISOString(),
      ':awaiting': 'AWAITING_FILE',
      ...(running ? { ':running': BULK_RUNNING_INDEX_PK, ':id': batchId } : {}),
    },
  };
  try {
    if (alongside.length === 0) await db().send(new UpdateCommand(update));
    else await db().send(new TransactWriteCommand({ TransactItems: [{ Update: update }, ...alongside] }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    if (
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
    )
      return false;
    throw error;
  }
}

/** Stores a finished chunk's rows (sealed) and moves the progress past it, in that order. */
export async function finishChunk(
  batchId: string,
  chunk: number,
  rows: readonly BulkResultRow[],
  now: Date,
): Promise<void> {
  const key = bulkChunkKey(batchId, chunk);
  await db().send(
    new PutCommand({
      TableName: tableName(),
      // A chunk run again after a crash writes the same cards (replayed by reference) over its results.
      Item: { ...key, rows: rows.length, sealed: await sealValue('bulk-chunk-v1', rows, key.SK + batchId) },
    }),
  );
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: bulkBatchKey(batchId),
        UpdateExpression: 'SET chunksDone = :next, rowsDone = rowsDone + :rows, updatedAt = :now',
        // Guarantees: progress passes each chunk once, in order, and only while the batch runs.
        ConditionExpression: 'chunksDone = :chunk AND #status = :running',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':next': chunk + 1,
          ':chunk': chunk,
          ':rows': rows.length,
          ':now': now.toISOString(),
          ':running': 'RUNNING',
        },
      }),
    );
  } catch (error) {
    // Another runner of the batch recorded the chunk first: the same cards, the same result.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** A chunk's result rows; undefined if it was never finished. */
export async function chunkResults(batchId: string, chunk: number): Promise<BulkResultRow[] | undefined> {
  const key = bulkChunkKey(batchId, chunk);
  const out = await db().send(new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }));
  if (!out.Item) return undefined;
  return openValue<BulkResultRow[]>('bulk-chunk-v1', out.Item.sealed as Uint8Array, key.SK + batchId);
}

export async function completeBulkBatch(
  batchId: string,
  outcome: { readonly resultFile: BulkResultFile } | { readonly error: string },
  now: Date,
): Promise<boolean> {
  const success = 'resultFile' in outcome;
  try {
    await sendCompletion(batchId, outcome, success, now);
    return true;
  } catch (error) {
    // Another runner of the batch ended it first.
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

async function sendCompletion(
  batchId: string,
  outcome: { readonly resultFile: BulkResultFile } | { readonly error: string },
  success: boolean,
  now: Date,
): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: bulkBatchKey(batchId),
      // An ended batch leaves the running index (GSI2).
      UpdateExpression: success
        ? 'SET #status = :status, resultFile = :file, completedAt = :now, updatedAt = :now REMOVE GSI2PK, GSI2SK'
        : 'SET #status = :status, #error = :error, completedAt = :now, updatedAt = :now REMOVE GSI2PK, GSI2SK',
      // Guarantees: a batch ends once.
      ConditionExpression: '#status = :running',
      ExpressionAttributeNames: { '#status': 'status', ...(success ? {} : { '#error': 'error' }) },
      ExpressionAttributeValues: {
        ':status': success ? 'SUCCEEDED' : 'FAILED',
        ...('resultFile' in outcome ? { ':file': outcome.resultFile } : { ':error': outcome.error }),
        ':now': now.toISOString(),
        ':running': 'RUNNING',
      },
    }),
  );
}

/** Batches newest first (finance: the invoice-style summaries). */
export async function listBulkBatches(limit: number, cursor: string | undefined): Promise<Page<BulkBatch>> {
  const start = decodeCursorWhere(cursor, (key) => key.GSI1PK === BULK_BATCHES_INDEX_PK);
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': BULK_BATCHES_INDEX_PK },
      ScanIndexForward: false,
      Limit: limit,
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  const batches = await Promise.all(
    (out.Items ?? []).map((item) => findBulkBatch(String(item.PK).slice('BULK#'.length))),
  );
  return {
    items: batches.filter((batch): batch is BulkBatch => batch !== undefined),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

/** Ids of running batches (the sparse GSI2 partition), a page at a time: at most `limit`. */
export async function runningBulkBatchIds(limit: number): Promise<string[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI2',
      KeyConditionExpression: 'GSI2PK = :pk',
      ExpressionAttributeValues: { ':pk': BULK_RUNNING_INDEX_PK },
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((item) => String(item.GSI2SK));
}

/**
 * Records a resume of a batch whose progress stood still: false when the batch moved (or ended) since it
 * was read, so two resume runs, or a runner that came back to life, never both count it.
 */
export async function markBulkResume(
  batch: Pick<BulkBatch, 'id' | 'updatedAt' | 'chunksDone'>,
  stalledResumes: number,
  now: Date,
): Promise<boolean> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: bulkBatchKey(batch.id),
        UpdateExpression:
          'SET updatedAt = :now, resumedAt = :now, resumedAtChunk = :chunk, stalledResumes = :stalled ' +
          'ADD resumes :one',
        // Guarantees: one resume per stall, and only of a batch still running where it was seen.
        ConditionExpression: '#status = :running AND updatedAt = :seen AND chunksDone = :chunk',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':now': now.toISOString(),
          ':chunk': batch.chunksDone,
          ':stalled': stalledResumes,
          ':one': 1,
          ':running': 'RUNNING',
          ':seen': batch.updatedAt,
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
