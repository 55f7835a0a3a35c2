import type { OperationContext } from '../core/card';
import { DomainError, notFound } from '../core/errors';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import { cartonCount, type ProductionOrder } from '../core/production/production-order';
import { cardKey } from '../store/keys';
import { batchGet } from '../store/listing';
import {
  type Carton,
  createShipment,
  findCarton,
  findShipment,
  MAX_SHIPMENT_CARTONS,
  markCartonLost,
  receiveShipment,
  type Shipment,
  storeCartons,
} from '../store/packaging';
import { findChunk } from '../store/production-orders';
import { changeCard } from './card-change';
import { getOrder } from './production-orders';

/** The ids of an order's cards from `first` to `last` (sequences), from the chunk markers. */
export async function cardIdsOfRange(order: ProductionOrder, first: number, last: number): Promise<string[]> {
  const ids: string[] = [];
  for (let chunk = Math.floor((first - 1) / order.chunkCards); chunk * order.chunkCards < last; chunk++) {
    const marker = await findChunk(order.id, chunk);
    if (marker?.status !== 'DONE') throw new Error(`Invariant: chunk ${chunk} of order ${order.id} is done`);
    const chunkFirst = chunk * order.chunkCards + 1;
    const from = Math.max(first, chunkFirst) - chunkFirst;
    const to = Math.min(last, chunkFirst + marker.cardIds.length - 1) - chunkFirst;
    ids.push(...marker.cardIds.slice(from, to + 1));
  }
  if (ids.length !== last - first + 1) throw new Error('Invariant: a range has a card per sequence');
  return ids;
}

/** Ships cartons of a generated order to a store, all at once (audited). */
export async function shipCartons(
  orderId: string,
  storeId: string,
  cartons: readonly number[],
  actor: Actor,
  now: Date,
): Promise<Shipment> {
  const order = await getOrder(orderId);
  if (order.generation !== 'DONE') throw new DomainError('CONFLICT', 'The order has not been generated yet.');
  const unique = [...new Set(cartons)].sort((a, b) => a - b);
  const outside = unique.filter((carton) => carton < 1 || carton > cartonCount(order));
  if (outside.length > 0 || unique.length > MAX_SHIPMENT_CARTONS) {
    throw new DomainError('VALIDATION_FAILED', 'The shipment cannot be made.', [
      {
        field: 'cartons',
        message:
          outside.length > 0
            ? `cartons ${outside.join(', ')} are not in the order (1 to ${cartonCount(order)})`
            : `at most ${MAX_SHIPMENT_CARTONS} cartons a shipment`,
      },
    ]);
  }
  const step = { status: 'SHIPPED' as const, by: actor, at: now.toISOString() };
  const shipment: Shipment = {
    id: newId('shp', now),
    orderId,
    storeId,
    cartons: unique,
    status: 'SHIPPED',
    history: [step],
    createdAt: now.toISOString(),
  };
  await createShipment(shipment, actor, now);
  return shipment;
}

/** The store received the shipment: its cartons not reported lost meanwhile become RECEIVED. */
export async function receive(shipmentId: string, actor: Actor, now: Date): Promise<Shipment> {
  const shipment = await findShipment(shipmentId);
  if (shipment.status !== 'SHIPPED') throw new DomainError('CONFLICT', 'The shipment was already received.');
  const arrived: number[] = [];
  for (const carton of shipment.cartons) {
    if ((await findCarton(shipment.orderId, carton))?.status === 'SHIPPED') arrived.push(carton);
  }
  await receiveShipment(shipment, arrived, actor, now);
  return findShipment(shipmentId);
}

/**
 * A carton is lost: mark it LOST (audited with the reason) and deactivate every card in it that is
 * still PENDING, each with its DEACTIVATE entry. A repeat (after a crash midway) finishes the cards.
 */
export async function deactivateCarton(
  orderId: string,
  cartonNumber: number,
  staff: Actor,
  reason: string,
  now: Date,
): Promise<{ carton: Carton; deactivated: number; alreadyLive: number }> {
  const order = await getOrder(orderId);
  const carton = await findCarton(orderId, cartonNumber);
  if (!carton) throw notFound('The carton');
  if (carton.status !== 'LOST') await markCartonLost(carton, staff, reason, now);
  const ids = await cardIdsOfRange(order, carton.firstSequence, carton.lastSequence);
  const cards = await batchGet(ids.map(cardKey));
  const context: OperationContext = {
    actor: { type: 'system', id: 'production' },
    request: { channel: 'SYSTEM', reference: `${orderId}/carton-${cartonNumber}` },
    now,
  };
  let deactivated = 0;
  let alreadyLive = 0;
  for (const cardId of ids) {
    const status = cards.get(`CARD#${cardId}|CARD`)?.status;
    if (status !== 'PENDING') {
      if (status === 'ACTIVE' || status === 'BLOCKED') alreadyLive++;
      continue;
    }
    const lostBy = `carton ${cartonNumber} of production order ${orderId} lost (${staff.type} ${staff.id}): ${reason}`;
    await changeCard(
      cardId,
      { type: 'DEACTIVATE', reason: lostBy.slice(0, 500) },
      { ...context, now: new Date() },
      () => true,
    );
    deactivated++;
  }
  return { carton: (await findCarton(orderId, cartonNumber)) ?? carton, deactivated, alreadyLive };
}

export interface StoreInventory {
  readonly storeId: string;
  readonly cartons: { readonly shipped: number; readonly received: number; readonly lost: number };
  readonly cards: {
    readonly received: number;
    readonly activated: number;
    readonly pending: number;
    readonly deactivated: number;
  };
}

/** Cards a store received and where they stand (cartons received; lost ones counted apart). */
export async function storeInventory(storeId: string, maxCartons: number): Promise<StoreInventory> {
  const cartons = await storeCartons(storeId, maxCartons);
  const counts = { received: 0, activated: 0, pending: 0, deactivated: 0 };
  const orders = new Map<string, ProductionOrder>();
  for (const carton of cartons.filter((c) => c.status === 'RECEIVED')) {
    const order = orders.get(carton.orderId) ?? (await getOrder(carton.orderId));
    orders.set(order.id, order);
    const ids = await cardIdsOfRange(order, carton.firstSequence, carton.lastSequence);
    const found = await batchGet(ids.map(cardKey));
    for (const item of found.values()) {
      counts.received++;
      if (item.status === 'PENDING') counts.pending++;
      else if (item.status === 'DEACTIVATED' && item.activatedAt === undefined) counts.deactivated++;
      else counts.activated++;
    }
  }
  return {
    storeId,
    cartons: {
      shipped: cartons.filter((c) => c.status === 'SHIPPED').length,
      received: cartons.filter((c) => c.status === 'RECEIVED').length,
      lost: cartons.filter((c) => c.status === 'LOST').length,
    },
    cards: counts,
  };
}
