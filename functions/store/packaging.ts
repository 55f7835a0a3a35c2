import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditOfChange } from '../core/audit';
import { DomainError, notFound } from '../core/errors';
import type { Actor } from '../core/ledger';
import {
  type CartonStatus,
  cartonCount,
  cartonRange,
  type ProductionOrder,
  type StatusStep,
} from '../core/production/production-order';
import { auditInsert } from './audit';
import { db, tableName } from './dynamo-client';
import { CARTON_PREFIX, cartonKey, shipmentKey, storeCartonsIndexPk, withoutLayout } from './keys';
import { decodeCursor, encodeCursor, type Page } from './pagination';
import { type TransactItem, writeAtomically } from './transact';

/**
 * Cartons of an order's cards and the shipments that take them to stores. A carton holds consecutive
 * sequences; its status moves ORDERED -> PRINTED -> SHIPPED -> RECEIVED, or to LOST from any of them
 * but LOST, each step recorded with who and when. One shipment moves its cartons in one transaction.
 */
export interface Carton {
  readonly orderId: string;
  readonly programId: string;
  readonly carton: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly status: CartonStatus;
  readonly history: readonly StatusStep<CartonStatus>[];
  readonly shipmentId?: string;
  readonly storeId?: string;
}

export interface Shipment {
  readonly id: string;
  readonly orderId: string;
  readonly storeId: string;
  readonly cartons: readonly number[];
  readonly status: 'SHIPPED' | 'RECEIVED';
  readonly history: readonly StatusStep<'SHIPPED' | 'RECEIVED'>[];
  readonly createdAt: string;
}

/** One transaction holds the shipment, its cartons and its audit record. */
export const MAX_SHIPMENT_CARTONS = 98;
const CARTON_WRITES_IN_FLIGHT = 16;

/** Writes every carton of a generated order once (a rerun finds them there and leaves them be). */
export async function ensureCartons(order: ProductionOrder): Promise<void> {
  const total = cartonCount(order);
  let next = 1;
  const worker = async () => {
    while (next <= total) {
      const carton = next++;
      const range = cartonRange(order, carton);
      const item: Carton = {
        orderId: order.id,
        programId: order.programId,
        carton,
        firstSequence: range.first,
        lastSequence: range.last,
        status: 'ORDERED',
        history: [{ status: 'ORDERED', by: order.createdBy, at: order.createdAt }],
      };
      try {
        await db().send(
          new PutCommand({
            TableName: tableName(),
            Item: { ...item, ...cartonKey(order.id, carton) },
            // Guarantees: a carton is created once; its later steps are never reset by a rerun.
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: CARTON_WRITES_IN_FLIGHT }, worker));
}

export async function findCarton(orderId: string, carton: number): Promise<Carton | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: cartonKey(orderId, carton), ConsistentRead: true }),
  );
  return out.Item ? withoutLayout<Carton>(out.Item) : undefined;
}

export async function listCartons(orderId: string, limit: number, cursor?: string): Promise<Page<Carton>> {
  const pk = cartonKey(orderId, 1).PK;
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :carton)',
      ExpressionAttributeValues: { ':pk': pk, ':carton': CARTON_PREFIX },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, { PK: pk, SK: CARTON_PREFIX }),
    }),
  );
  return {
    items: (out.Items ?? []).map((item) => withoutLayout<Carton>(item)),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

/** Cartons shipped to a store (any status since), through GSI1. */
export async function storeCartons(storeId: string, limit: number): Promise<Carton[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': storeCartonsIndexPk(storeId) },
      Limit: limit,
    }),
  );
  const keys = (out.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
  const cartons: Carton[] = [];
  for (const key of keys) {
    const found = await db().send(new GetCommand({ TableName: tableName(), Key: key }));
    if (found.Item) cartons.push(withoutLayout<Carton>(found.Item));
  }
  return cartons;
}

function cartonStep(
  orderId: string,
  carton: number,
  from: readonly CartonStatus[],
  step: StatusStep<CartonStatus>,
  set: Readonly<Record<string, string>> = {},
): TransactItem {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':to': step.status, ':step': [step] };
  const sets = ['#status = :to', 'history = list_append(history, :step)'];
  for (const [name, value] of Object.entries(set)) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    sets.push(`#${name} = :${name}`);
  }
  from.forEach((status, index) => {
    values[`:from${index}`] = status;
  });
  return {
    Update: {
      TableName: tableName(),
      Key: cartonKey(orderId, carton),
      UpdateExpression: `SET ${sets.join(', ')}`,
      // Guarantees: a carton moves only forward, from a status it is still in.
      ConditionExpression: `#status IN (${from.map((_, index) => `:from${index}`).join(', ')})`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

function refusedCartons(
  outcome: Awaited<ReturnType<typeof writeAtomically>>,
  cartons: readonly number[],
): never {
  const refused =
    outcome.kind === 'cancelled'
      ? cartons.filter((_, index) => outcome.reasons[index + 1]?.code === 'ConditionalCheckFailed')
      : [];
  throw new DomainError(
    'CONFLICT',
    refused.length > 0
      ? `Cartons ${refused.join(', ')} are not in a status this step moves from (or do not exist).`
      : 'The cartons changed meanwhile; try again.',
  );
}

/** Ships cartons to a store: the shipment and every carton (ORDERED or PRINTED -> SHIPPED) at once. */
export async function createShipment(shipment: Shipment, actor: Actor, now: Date): Promise<void> {
  if (shipment.cartons.length < 1 || shipment.cartons.length > MAX_SHIPMENT_CARTONS) {
    throw new Error(`Invariant: a shipment has 1 to ${MAX_SHIPMENT_CARTONS} cartons`);
  }
  const step = { status: 'SHIPPED' as const, by: actor, at: now.toISOString() };
  const items: TransactItem[] = [
    {
      Put: {
        TableName: tableName(),
        Item: { ...shipment, ...shipmentKey(shipment.id) },
        // Guarantees: a shipment is created once.
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    ...shipment.cartons.map((carton) =>
      cartonStep(shipment.orderId, carton, ['ORDERED', 'PRINTED'], step, {
        shipmentId: shipment.id,
        storeId: shipment.storeId,
        GSI1PK: storeCartonsIndexPk(shipment.storeId),
        GSI1SK: `${shipment.orderId}#${String(carton).padStart(6, '0')}`,
      }),
    ),
    auditInsert(
      auditOfChange(
        { actor },
        {
          action: 'productionOrder.ship',
          subjectType: 'productionOrder',
          subjectId: shipment.orderId,
          at: now,
          before: null,
          after: { shipmentId: shipment.id, storeId: shipment.storeId, cartons: shipment.cartons },
        },
      ),
    ),
  ];
  const outcome = await writeAtomically(items, { claim: undefined, result: null, now });
  if (outcome.kind !== 'committed') refusedCartons(outcome, shipment.cartons);
}

export async function findShipment(shipmentId: string): Promise<Shipment> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: shipmentKey(shipmentId), ConsistentRead: true }),
  );
  if (!out.Item) throw notFound('The shipment');
  return withoutLayout<Shipment>(out.Item);
}

/** The store received the shipment: it and its cartons still SHIPPED move to RECEIVED at once. */
export async function receiveShipment(
  shipment: Shipment,
  arrived: readonly number[],
  actor: Actor,
  now: Date,
): Promise<void> {
  const step = { status: 'RECEIVED' as const, by: actor, at: now.toISOString() };
  const items: TransactItem[] = [
    {
      Update: {
        TableName: tableName(),
        Key: shipmentKey(shipment.id),
        UpdateExpression: 'SET #status = :to, history = list_append(history, :step)',
        // Guarantees: a shipment is received once.
        ConditionExpression: '#status = :shipped',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':to': 'RECEIVED', ':shipped': 'SHIPPED', ':step': [step] },
      },
    },
    ...arrived.map((carton) => cartonStep(shipment.orderId, carton, ['SHIPPED'], step)),
    auditInsert(
      auditOfChange(
        { actor },
        {
          action: 'productionOrder.receive',
          subjectType: 'productionOrder',
          subjectId: shipment.orderId,
          at: now,
          before: null,
          after: { shipmentId: shipment.id, storeId: shipment.storeId, cartons: arrived },
        },
      ),
    ),
  ];
  const outcome = await writeAtomically(items, { claim: undefined, result: null, now });
  if (outcome.kind !== 'committed') refusedCartons(outcome, arrived);
}

/** The carton is reported lost (from any status but LOST), audited with the reason, in one transaction. */
export async function markCartonLost(carton: Carton, actor: Actor, reason: string, now: Date): Promise<void> {
  const step = { status: 'LOST' as const, by: actor, at: now.toISOString() };
  const from: CartonStatus[] = ['ORDERED', 'PRINTED', 'SHIPPED', 'RECEIVED'];
  const outcome = await writeAtomically(
    [
      cartonStep(carton.orderId, carton.carton, from, step),
      auditInsert(
        auditOfChange(
          { actor, reason },
          {
            action: 'productionOrder.carton-lost',
            subjectType: 'productionOrder',
            subjectId: carton.orderId,
            programId: carton.programId,
            at: now,
            before: { carton: carton.carton, status: carton.status },
            after: { carton: carton.carton, status: 'LOST' },
          },
        ),
      ),
    ],
    { claim: undefined, result: null, now },
  );
  if (outcome.kind !== 'committed')
    throw new DomainError('CONFLICT', 'The carton changed meanwhile; try again.');
}

/** Every carton of the order still ORDERED is marked PRINTED (the order was printed). */
export async function markCartonsPrinted(order: ProductionOrder, actor: Actor, now: Date): Promise<void> {
  const step = { status: 'PRINTED' as const, by: actor, at: now.toISOString() };
  for (let carton = 1; carton <= cartonCount(order); carton++) {
    const update = cartonStep(order.id, carton, ['ORDERED'], step).Update;
    if (!update) continue;
    try {
      await db().send(new UpdateCommand(update as ConstructorParameters<typeof UpdateCommand>[0]));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
