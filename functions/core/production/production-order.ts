import type { Actor } from '../ledger';
import type { PrinterLayout } from './printer-layouts';
import type { MagstripeOptions } from './printer-row';

/**
 * A production order of physical cards (docs/production.md): `count` PENDING cards of one program, made
 * in chunks of `chunkCards` consecutive sequences. Each chunk commits its cards, then writes its part of
 * the printer file; a chunk is DONE only when both are, so a crash leaves at most one chunk to redo.
 * Packaging: the order's cards are packed in cartons of `cartonCards` consecutive sequences; cartons go
 * out in shipments to stores.
 */
export const MAX_ORDER_CARDS = 1_000_000;
export const MAX_CARTON_CARDS = 1_000;

export type GenerationStatus = 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED';
/** ordered -> printed -> shipped -> received: the order, its cartons and shipments move along these. */
export type PackagingStatus = 'ORDERED' | 'PRINTED' | 'SHIPPED' | 'RECEIVED';
/** A carton reported lost: its cards still PENDING were deactivated at once. */
export type CartonStatus = PackagingStatus | 'LOST';

export interface StatusStep<S extends string = string> {
  readonly status: S;
  readonly by: Actor;
  readonly at: string;
}

export interface ProductionOrderSpec {
  readonly programId: string;
  readonly count: number;
  /** Fixed denomination in minor units: the card activates with exactly this; absent: open value. */
  readonly denomination?: number;
  readonly withPin: boolean;
  /** The artwork the printer prints on the cards (the printer's reference). */
  readonly artworkRef: string;
  readonly printerId: string;
  readonly layout: PrinterLayout;
  readonly cartonCards: number;
  readonly magstripe?: MagstripeOptions;
  readonly qrUrlTemplate?: string;
}

export interface PrinterFilePart {
  readonly chunk: number;
  readonly key: string;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ProductionOrder extends ProductionOrderSpec {
  readonly id: string;
  readonly chunkCards: number;
  readonly chunks: number;
  readonly generation: GenerationStatus;
  readonly chunksDone: number;
  readonly cardsDone: number;
  /** Of the printer's key at order time: the vendor checks the file is encrypted to its key. */
  readonly recipientFingerprint: string;
  readonly status: PackagingStatus;
  readonly history: readonly StatusStep<PackagingStatus>[];
  readonly createdBy: Actor;
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly error?: string;
}

export const chunkCount = (count: number, chunkCards: number): number => Math.ceil(count / chunkCards);
export const cartonCount = (order: Pick<ProductionOrder, 'count' | 'cartonCards'>): number =>
  Math.ceil(order.count / order.cartonCards);

/** Sequences of a 0-based chunk, 1-based and inclusive. */
export function chunkRange(
  order: Pick<ProductionOrder, 'count' | 'chunkCards'>,
  chunk: number,
): { first: number; last: number } {
  const first = chunk * order.chunkCards + 1;
  const last = Math.min(order.count, first + order.chunkCards - 1);
  if (first > last) throw new Error(`Invariant: chunk ${chunk} is inside the order`);
  return { first, last };
}

/** Sequences of a 1-based carton, inclusive. */
export function cartonRange(
  order: Pick<ProductionOrder, 'count' | 'cartonCards'>,
  carton: number,
): { first: number; last: number } {
  const first = (carton - 1) * order.cartonCards + 1;
  const last = Math.min(order.count, first + order.cartonCards - 1);
  if (carton < 1 || first > last) throw new Error(`Invariant: carton ${carton} is inside the order`);
  return { first, last };
}

const PACKAGING_ORDER: readonly PackagingStatus[] = ['ORDERED', 'PRINTED', 'SHIPPED', 'RECEIVED'];

/** Packaging moves forward only, one or more steps (a carton may be shipped without being marked printed). */
export const isForward = (from: PackagingStatus, to: PackagingStatus): boolean =>
  PACKAGING_ORDER.indexOf(to) > PACKAGING_ORDER.indexOf(from);

/** The printer file part of a chunk: one object per chunk, each a whole OpenPGP message. */
export const printerPartKey = (orderId: string, chunk: number, layout: PrinterLayout): string =>
  `production/${orderId}/cards-${String(chunk + 1).padStart(4, '0')}.${layout === 'CSV' ? 'csv' : 'txt'}.pgp`;
