import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditOfChange } from '../core/audit';
import { DomainError } from '../core/errors';
import type { Actor } from '../core/ledger';
import type { PackagingStatus, PrinterFilePart, ProductionOrder } from '../core/production/production-order';
import { auditInsert } from './audit';
import { db, tableName } from './dynamo-client';
import {
  PRODUCTION_CHUNK_PREFIX,
  PRODUCTION_ORDERS_INDEX_PK,
  productionChunkKey,
  productionOrderKey,
  withoutLayout,
} from './keys';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { writeAtomically } from './transact';

/**
 * Production orders and their chunk markers. A marker holds the chunk's attempt number and the ids of
 * the cards that attempt commits, written before any of them is: a rerun of an unfinished chunk knows
 * exactly which cards an earlier attempt may have left (their codes lost with its file part) and voids
 * them. The marker's attempt is the chunk's lock: two runners never commit the same chunk.
 */
export interface ChunkMarker {
  readonly chunk: number;
  readonly attempt: number;
  readonly status: 'COMMITTING' | 'DONE';
  /** In sequence order: cardIds[i] is the card of sequence first + i. */
  readonly cardIds: readonly string[];
  readonly part?: PrinterFilePart;
}

export async function createOrder(order: ProductionOrder, now: Date): Promise<void> {
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            ...order,
            ...productionOrderKey(order.id),
            GSI1PK: PRODUCTION_ORDERS_INDEX_PK,
            GSI1SK: `${order.createdAt}#${order.id}`,
          },
          // Guarantees: an order id is created once.
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      auditInsert(
        auditOfChange(
          { actor: order.createdBy },
          {
            action: 'productionOrder.create',
            subjectType: 'productionOrder',
            subjectId: order.id,
            programId: order.programId,
            at: now,
            before: null,
            after: { count: order.count, printerId: order.printerId, layout: order.layout },
          },
        ),
      ),
    ],
    { claim: undefined, result: order, now },
  );
  if (outcome.kind !== 'committed') throw new Error(`Order ${order.id} was not written (${outcome.kind})`);
}

export async function findOrder(orderId: string): Promise<ProductionOrder | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: productionOrderKey(orderId), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<ProductionOrder>(out.Item) : undefined;
}

export function listOrders(limit: number, cursor?: string): Promise<Page<ProductionOrder>> {
  return listByIndex('GSI1', PRODUCTION_ORDERS_INDEX_PK, { limit, ...(cursor ? { cursor } : {}) }, (item) =>
    withoutLayout<ProductionOrder>(item),
  );
}

/** QUEUED or FAILED -> RUNNING (a rerun resumes a failed order); false when it is running or done. */
export async function claimGeneration(orderId: string): Promise<boolean> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: productionOrderKey(orderId),
        UpdateExpression: 'SET generation = :running REMOVE #error',
        // Guarantees: one runner at a time generates an order (chunk markers guard each chunk as well).
        ConditionExpression: 'generation IN (:queued, :failed)',
        ExpressionAttributeNames: { '#error': 'error' },
        ExpressionAttributeValues: { ':running': 'RUNNING', ':queued': 'QUEUED', ':failed': 'FAILED' },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** RUNNING -> QUEUED: the runner hands the order to its next invocation (AWS: before the 15-minute limit). */
export async function setGeneration(
  orderId: string,
  generation: 'QUEUED' | 'DONE' | 'FAILED',
  now: Date,
  error?: string,
): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: productionOrderKey(orderId),
      UpdateExpression: `SET generation = :next${generation === 'DONE' ? ', completedAt = :now' : ''}${error ? ', #error = :error' : ''}`,
      ConditionExpression: 'generation = :running',
      ...(error ? { ExpressionAttributeNames: { '#error': 'error' } } : {}),
      ExpressionAttributeValues: {
        ':next': generation,
        ':running': 'RUNNING',
        ...(generation === 'DONE' ? { ':now': now.toISOString() } : {}),
        ...(error ? { ':error': error } : {}),
      },
    }),
  );
}

export async function findChunk(orderId: string, chunk: number): Promise<ChunkMarker | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: productionChunkKey(orderId, chunk), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<ChunkMarker>(out.Item) : undefined;
}

/** Every chunk marker of an order, in chunk order (a page a query; bounded by the order's chunks). */
export async function orderChunks(orderId: string): Promise<ChunkMarker[]> {
  const markers: ChunkMarker[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :chunk)',
        ExpressionAttributeValues: {
          ':pk': productionOrderKey(orderId).PK,
          ':chunk': PRODUCTION_CHUNK_PREFIX,
        },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) markers.push(withoutLayout<ChunkMarker>(item));
    start = out.LastEvaluatedKey;
  } while (start);
  return markers;
}

/**
 * Starts attempt `previous + 1` of a chunk with the ids of the cards it will commit. False when another
 * runner started an attempt since `previous` was read, or finished the chunk.
 */
export async function startChunkAttempt(
  orderId: string,
  chunk: number,
  previous: number,
  cardIds: readonly string[],
): Promise<boolean> {
  const marker: ChunkMarker = { chunk, attempt: previous + 1, status: 'COMMITTING', cardIds };
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...marker, ...productionChunkKey(orderId, chunk) },
        // Guarantees: each attempt of a chunk is started once, and a finished chunk is never restarted.
        ConditionExpression:
          previous === 0 ? 'attribute_not_exists(PK)' : 'attempt = :previous AND #status = :committing',
        ...(previous === 0
          ? {}
          : {
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':previous': previous, ':committing': 'COMMITTING' },
            }),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The chunk's attempt is done (cards committed, file part stored) and the order counts it, at once. */
export async function finishChunk(
  orderId: string,
  chunk: number,
  attempt: number,
  part: PrinterFilePart,
  now: Date,
): Promise<void> {
  const outcome = await writeAtomically(
    [
      {
        Update: {
          TableName: tableName(),
          Key: productionChunkKey(orderId, chunk),
          UpdateExpression: 'SET #status = :done, part = :part',
          // Guarantees: a chunk is counted done once, by the attempt whose cards its file part holds.
          ConditionExpression: 'attempt = :attempt AND #status = :committing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':done': 'DONE',
            ':part': part,
            ':attempt': attempt,
            ':committing': 'COMMITTING',
          },
        },
      },
      {
        Update: {
          TableName: tableName(),
          Key: productionOrderKey(orderId),
          UpdateExpression: 'ADD chunksDone :one, cardsDone :cards',
          ExpressionAttributeValues: { ':one': 1, ':cards': part.rows },
        },
      },
    ],
    { claim: undefined, result: part, now },
  );
  if (outcome.kind !== 'committed') {
    throw new Error(`Chunk ${chunk} of order ${orderId} was finished by another attempt`);
  }
}

/** Moves the order's packaging status forward, recording who and when (audited with it). */
export async function advanceOrderStatus(
  order: ProductionOrder,
  to: PackagingStatus,
  actor: Actor,
  now: Date,
): Promise<void> {
  const step = { status: to, by: actor, at: now.toISOString() };
  const outcome = await writeAtomically(
    [
      {
        Update: {
          TableName: tableName(),
          Key: productionOrderKey(order.id),
          UpdateExpression: 'SET #status = :to, history = list_append(history, :step)',
          // Guarantees: the status read is still the order's (no step is recorded twice or out of order).
          ConditionExpression: '#status = :from',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':to': to, ':from': order.status, ':step': [step] },
        },
      },
      auditInsert(
        auditOfChange(
          { actor },
          {
            action: `productionOrder.${to.toLowerCase()}`,
            subjectType: 'productionOrder',
            subjectId: order.id,
            programId: order.programId,
            at: now,
            before: { status: order.status },
            after: { status: to },
          },
        ),
      ),
    ],
    { claim: undefined, result: step, now },
  );
  if (outcome.kind !== 'committed')
    throw new DomainError('CONFLICT', 'The order changed meanwhile; read it again.');
}
