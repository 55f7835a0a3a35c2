import * as z from 'zod';
import {
  advanceOrder,
  getOrder,
  placeOrder,
  printerFileLinks,
  registerPrinter,
  resumeOrder,
} from '../app/production-orders';
import { deactivateCarton, receive, shipCartons, storeInventory } from '../app/production-packaging';
import { notFound } from '../core/errors';
import type { Actor } from '../core/ledger';
import { PRINTER_LAYOUTS } from '../core/production/printer-layouts';
import {
  cartonCount,
  MAX_CARTON_CARDS,
  MAX_ORDER_CARDS,
  type ProductionOrder,
  type StatusStep,
} from '../core/production/production-order';
import { apiHandler, type Operations, operation } from '../http/api-handler';
import { actorOf } from '../http/auth';
import { pathId } from '../http/params';
import { pageSchema } from '../http/response-schemas/common';
import {
  cartonDeactivationSchema,
  cartonSchema,
  printerFileLinksSchema,
  printerSchema,
  productionOrderSchema,
  shipmentSchema,
  storeInventorySchema,
} from '../http/response-schemas/production';
import { amount, emptyBody, entityId, externalId, listQuery, safeText } from '../http/validation';
import { type Carton, findShipment, listCartons, type Shipment } from '../store/packaging';
import { listPrinters, type Printer } from '../store/printers';
import { listOrders } from '../store/production-orders';

/**
 * Physical card production (staff: admin registers printers; admin and ops run orders, their files,
 * cartons and shipments). docs/production.md tells the whole flow; codes and PINs never pass here.
 */
const orderId = (params: Readonly<Record<string, string>>) => pathId(params, 'orderId', 'pord', 'The order');
const shipmentId = (params: Readonly<Record<string, string>>) =>
  pathId(params, 'shipmentId', 'shp', 'The shipment');

function cartonNumber(params: Readonly<Record<string, string>>): number {
  const raw = params.carton ?? '';
  if (!/^[1-9]\d{0,6}$/.test(raw)) throw notFound('The carton');
  return Number(raw);
}

const actorView = (actor: Actor) => ({ type: actor.type, id: actor.id });
const stepView = <S extends string>(step: StatusStep<S>) => ({
  status: step.status,
  by: actorView(step.by),
  at: step.at,
});

const printerView = (printer: Printer) => ({
  id: printer.id,
  name: printer.name,
  fingerprint: printer.fingerprint,
  createdAt: printer.createdAt,
});

const orderView = (order: ProductionOrder) => ({
  id: order.id,
  programId: order.programId,
  count: order.count,
  denomination: order.denomination ?? null,
  withPin: order.withPin,
  artworkRef: order.artworkRef,
  printerId: order.printerId,
  recipientFingerprint: order.recipientFingerprint,
  layout: order.layout,
  cartonCards: order.cartonCards,
  cartons: cartonCount(order),
  magstripe: order.magstripe
    ? {
        serviceCode: order.magstripe.serviceCode,
        ...(order.magstripe.discretionaryData
          ? { discretionaryData: order.magstripe.discretionaryData }
          : {}),
      }
    : null,
  qrUrlTemplate: order.qrUrlTemplate ?? null,
  generation: order.generation,
  progress: {
    chunks: order.chunks,
    chunksDone: order.chunksDone,
    cards: order.count,
    cardsDone: order.cardsDone,
  },
  status: order.status,
  history: order.history.map(stepView),
  createdBy: actorView(order.createdBy),
  createdAt: order.createdAt,
  completedAt: order.completedAt ?? null,
  error: order.error ?? null,
});

const cartonView = (carton: Carton) => ({
  orderId: carton.orderId,
  carton: carton.carton,
  firstSequence: carton.firstSequence,
  lastSequence: carton.lastSequence,
  status: carton.status,
  history: carton.history.map(stepView),
  shipmentId: carton.shipmentId ?? null,
  storeId: carton.storeId ?? null,
});

const shipmentView = (shipment: Shipment) => ({
  id: shipment.id,
  orderId: shipment.orderId,
  storeId: shipment.storeId,
  cartons: [...shipment.cartons],
  status: shipment.status,
  history: shipment.history.map(stepView),
  createdAt: shipment.createdAt,
});

const orderBody = z
  .object({
    programId: entityId('prg'),
    count: z.number().int().min(1).max(MAX_ORDER_CARDS),
    denomination: amount.optional().describe('fixed value in minor units; absent: open value'),
    withPin: z.boolean().optional().describe("default: the program's PIN policy is not NEVER"),
    artworkRef: safeText(200),
    printerId: entityId('prn'),
    layout: z.enum(PRINTER_LAYOUTS as ['CSV', 'FIXED_WIDTH']).default('CSV'),
    cartonCards: z.number().int().min(1).max(MAX_CARTON_CARDS).default(100),
    magstripe: z
      .object({
        serviceCode: z.string().regex(/^\d{3}$/, 'three digits'),
        discretionaryData: z
          .string()
          .regex(/^\d{0,8}$/, 'up to 8 digits')
          .optional(),
      })
      .strict()
      .optional(),
    qrUrlTemplate: z
      .string()
      .max(180)
      .regex(/^https:\/\/[^\s]*\{code\}[^\s]*$/, 'an https URL with {code} in it')
      .optional(),
  })
  .strict();

export const operations: Operations = {
  'POST /v1/production/printers': operation({
    summary: 'Register a card printer with its OpenPGP public key (armored; never a private key)',
    status: 201,
    response: printerSchema,
    body: z.object({ name: safeText(120), publicKey: z.string().min(100).max(12_000) }).strict(),
    run: async ({ body, principal, now }) =>
      printerView(await registerPrinter(body, actorOf(principal), now)),
  }),
  'GET /v1/production/printers': operation({
    summary: 'Registered card printers',
    response: pageSchema(printerSchema),
    query: z.object(listQuery).strict(),
    run: async ({ query }) => {
      const page = await listPrinters(query.limit, query.cursor);
      return { items: page.items.map(printerView), nextCursor: page.nextCursor };
    },
  }),
  'POST /v1/production/orders': operation({
    summary: 'Order physical cards: PENDING cards and their encrypted printer file, made in the background',
    status: 202,
    response: productionOrderSchema,
    body: orderBody,
    run: async ({ body, principal, now }) => orderView(await placeOrder(body, actorOf(principal), now)),
  }),
  'GET /v1/production/orders': operation({
    summary: 'Production orders, newest first',
    response: pageSchema(productionOrderSchema),
    query: z.object(listQuery).strict(),
    run: async ({ query }) => {
      const page = await listOrders(query.limit, query.cursor);
      return { items: page.items.map(orderView), nextCursor: page.nextCursor };
    },
  }),
  'GET /v1/production/orders/{orderId}': operation({
    summary: 'A production order: its generation progress and packaging status',
    response: productionOrderSchema,
    run: async ({ params }) => orderView(await getOrder(orderId(params))),
  }),
  'POST /v1/production/orders/{orderId}/resume': operation({
    summary: 'Start a failed or stalled order again; it resumes where it stopped',
    status: 202,
    response: productionOrderSchema,
    body: emptyBody,
    run: async ({ params }) => orderView(await resumeOrder(orderId(params))),
  }),
  'POST /v1/production/orders/{orderId}/printed': operation({
    summary: 'The printer printed the order: it and its cartons are PRINTED',
    response: productionOrderSchema,
    body: emptyBody,
    run: async ({ params, principal, now }) =>
      orderView(await advanceOrder(orderId(params), 'PRINTED', actorOf(principal), now)),
  }),
  'POST /v1/production/orders/{orderId}/downloads': operation({
    summary:
      "Links to the order's encrypted printer file parts, valid for minutes (each handing-out is audited)",
    response: printerFileLinksSchema,
    body: emptyBody,
    run: async ({ params, principal, now }) => printerFileLinks(orderId(params), actorOf(principal), now),
  }),
  'GET /v1/production/orders/{orderId}/cartons': operation({
    summary: "The order's cartons and where each is",
    response: pageSchema(cartonSchema),
    query: z.object(listQuery).strict(),
    run: async ({ params, query }) => {
      const order = await getOrder(orderId(params));
      const page = await listCartons(order.id, query.limit, query.cursor);
      return { items: page.items.map(cartonView), nextCursor: page.nextCursor };
    },
  }),
  'POST /v1/production/orders/{orderId}/cartons/{carton}/deactivate': operation({
    summary: 'A carton is lost: every card in it still PENDING is deactivated at once (audited)',
    response: cartonDeactivationSchema,
    body: z.object({ reason: safeText(300) }).strict(),
    run: async ({ params, body, principal, now }) => {
      const result = await deactivateCarton(
        orderId(params),
        cartonNumber(params),
        actorOf(principal),
        body.reason,
        now,
      );
      return { ...result, carton: cartonView(result.carton) };
    },
  }),
  'POST /v1/production/shipments': operation({
    summary: 'Ship cartons of an order to a store',
    status: 201,
    response: shipmentSchema,
    body: z
      .object({
        orderId: entityId('pord'),
        storeId: externalId,
        cartons: z.array(z.number().int().min(1)).min(1).max(98),
      })
      .strict(),
    run: async ({ body, principal, now }) =>
      shipmentView(await shipCartons(body.orderId, body.storeId, body.cartons, actorOf(principal), now)),
  }),
  'GET /v1/production/shipments/{shipmentId}': operation({
    summary: 'A shipment of cartons',
    response: shipmentSchema,
    run: async ({ params }) => shipmentView(await findShipment(shipmentId(params))),
  }),
  'POST /v1/production/shipments/{shipmentId}/receive': operation({
    summary: 'The store received the shipment: its cartons are RECEIVED',
    response: shipmentSchema,
    body: emptyBody,
    run: async ({ params, principal, now }) =>
      shipmentView(await receive(shipmentId(params), actorOf(principal), now)),
  }),
  'GET /v1/production/stores/{storeId}/inventory': operation({
    summary:
      "A store's physical cards: cartons shipped and received, cards received, activated, still PENDING",
    response: storeInventorySchema,
    run: async ({ params }) => {
      const storeId = externalId.safeParse(params.storeId ?? '');
      if (!storeId.success) throw notFound('The store');
      return storeInventory(storeId.data, 500);
    },
  }),
};

export const handler = apiHandler('production', operations);
