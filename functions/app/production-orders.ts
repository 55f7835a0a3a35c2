import { config } from '../config';
import { auditOfChange } from '../core/audit';
import { codeFormatErrors } from '../core/card-code';
import { DomainError, type FieldError, notFound } from '../core/errors';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import {
  chunkCount,
  type PackagingStatus,
  type ProductionOrder,
  type ProductionOrderSpec,
} from '../core/production/production-order';
import { checkLoadAmount, type Program } from '../core/program';
import { launchProductionOrder } from '../production/launcher';
import { recordAudit } from '../store/audit';
import { markCartonsPrinted } from '../store/packaging';
import { printerPartUrl } from '../store/printer-downloads';
import { readPrinterKey } from '../store/printer-file';
import { getPrinter, type Printer, putPrinter } from '../store/printers';
import { advanceOrderStatus, createOrder, findOrder, orderChunks } from '../store/production-orders';
import { getProgram } from '../store/programs';

/** Checks a printer's key (an encryption-capable public key, never a private one) and registers it. */
export async function registerPrinter(
  input: { readonly name: string; readonly publicKey: string },
  actor: Actor,
  now: Date,
): Promise<Printer> {
  let fingerprint: string;
  try {
    fingerprint = (await readPrinterKey(input.publicKey)).getFingerprint();
  } catch (error) {
    const message = error instanceof Error ? error.message : 'not an OpenPGP public key';
    // The key's text is never echoed: a private key pasted by mistake must not land in a log or an answer.
    throw new DomainError('VALIDATION_FAILED', 'The printer key is not usable.', [
      {
        field: 'publicKey',
        message: message.includes('private')
          ? 'must be a public key, not a private key'
          : 'must be an armored OpenPGP public key with a usable encryption subkey',
      },
    ]);
  }
  return putPrinter({ name: input.name, publicKeyArmored: input.publicKey, fingerprint }, actor, now);
}

function specErrors(spec: ProductionOrderSpec, program: Program): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.magstripe && program.codeFormat.alphabet !== 'NUMERIC_LUHN') {
    errors.push({
      field: 'magstripe',
      message: 'track 2 holds digits only: this program has letters in its codes',
    });
  }
  if (spec.magstripe && program.codeFormat.length > 19) {
    errors.push({
      field: 'magstripe',
      message: 'track 2 holds at most 19 digits: this program has longer codes',
    });
  }
  if (codeFormatErrors(program.codeFormat, program.maxCards).length > 0) {
    errors.push({ field: 'programId', message: 'the program cannot issue cards (code format)' });
  }
  if (spec.denomination !== undefined) {
    try {
      checkLoadAmount(program, spec.denomination);
    } catch (error) {
      errors.push({
        field: 'denomination',
        message: error instanceof Error ? error.message : 'outside the load limits',
      });
    }
  }
  return errors;
}

/**
 * Primary course: check the order against its program (stripe needs numeric codes, a denomination must
 * be a load the program allows) and the printer's key, record the order QUEUED (audited), and start its
 * generation in the background; GET on the order shows the progress.
 */
export async function placeOrder(
  spec: Omit<ProductionOrderSpec, 'withPin'> & { readonly withPin?: boolean },
  actor: Actor,
  now: Date,
): Promise<ProductionOrder> {
  const program = await getProgram(spec.programId, { cached: true }).catch((error: unknown) => {
    throw error instanceof DomainError ? notFound('The program') : error;
  });
  const printer = await getPrinter(spec.printerId);
  const full: ProductionOrderSpec = { ...spec, withPin: spec.withPin ?? program.pinPolicy !== 'NEVER' };
  const errors = specErrors(full, program);
  if (errors.length > 0) throw new DomainError('VALIDATION_FAILED', 'The order cannot be produced.', errors);
  const chunkCards = config().PRODUCTION_CHUNK_CARDS;
  const order: ProductionOrder = {
    ...full,
    id: newId('pord', now),
    chunkCards,
    chunks: chunkCount(full.count, chunkCards),
    generation: 'QUEUED',
    chunksDone: 0,
    cardsDone: 0,
    recipientFingerprint: printer.fingerprint,
    status: 'ORDERED',
    history: [{ status: 'ORDERED', by: actor, at: now.toISOString() }],
    createdBy: actor,
    createdAt: now.toISOString(),
  };
  await createOrder(order, now);
  await launchProductionOrder(order.id);
  return order;
}

export async function getOrder(orderId: string): Promise<ProductionOrder> {
  const order = await findOrder(orderId);
  if (!order) throw notFound('The production order');
  return order;
}

/** The printer file's parts, once the whole order is generated (never a part of an unfinished order). */
export async function orderFileParts(order: ProductionOrder) {
  if (order.generation !== 'DONE') {
    throw new DomainError(
      'CONFLICT',
      `The order's printer file is not ready (generation ${order.generation}).`,
    );
  }
  const parts = (await orderChunks(order.id)).flatMap((marker) => (marker.part ? [marker.part] : []));
  if (parts.length !== order.chunks) throw new Error(`Invariant: order ${order.id} has a part per chunk`);
  return parts;
}

/** Marks the order printed (and its cartons still ORDERED): only once its file exists. */
export async function advanceOrder(orderId: string, to: PackagingStatus, actor: Actor, now: Date) {
  const order = await getOrder(orderId);
  if (order.generation !== 'DONE') throw new DomainError('CONFLICT', 'The order has not been generated yet.');
  if (to !== 'PRINTED' || order.status !== 'ORDERED') {
    throw new DomainError(
      'CONFLICT',
      `The order is ${order.status}; only an ORDERED order is marked PRINTED.`,
    );
  }
  await advanceOrderStatus(order, to, actor, now);
  await markCartonsPrinted(order, actor, now);
  return getOrder(orderId);
}

/** Download links live minutes: enough to fetch the parts, too short to be passed around. */
export const DOWNLOAD_LINK_SECONDS = 5 * 60;

/**
 * Presigned links to the order's printer file parts, for the staff member who asked: each handing-out is
 * audited (who, when, which order) before the links are made.
 */
export async function printerFileLinks(orderId: string, actor: Actor, now: Date) {
  const order = await getOrder(orderId);
  const parts = await orderFileParts(order);
  await recordAudit(
    auditOfChange(
      { actor },
      {
        action: 'productionOrder.download',
        subjectType: 'productionOrder',
        subjectId: order.id,
        programId: order.programId,
        at: now,
        before: null,
        after: {
          files: parts.length,
          recipientFingerprint: order.recipientFingerprint,
          linkSeconds: DOWNLOAD_LINK_SECONDS,
        },
      },
    ),
  );
  const files = await Promise.all(
    parts.map(async (part) => ({
      name: part.key.slice(part.key.lastIndexOf('/') + 1),
      firstSequence: part.firstSequence,
      lastSequence: part.lastSequence,
      rows: part.rows,
      bytes: part.bytes,
      sha256: part.sha256,
      url: await printerPartUrl(part.key, DOWNLOAD_LINK_SECONDS),
    })),
  );
  return {
    orderId: order.id,
    recipientFingerprint: order.recipientFingerprint,
    expiresAt: new Date(now.getTime() + DOWNLOAD_LINK_SECONDS * 1000).toISOString(),
    files,
  };
}

/** Starts a FAILED or stalled QUEUED order again; it resumes where it stopped (chunk markers). A running one goes on. */
export async function resumeOrder(orderId: string): Promise<ProductionOrder> {
  const order = await getOrder(orderId);
  // A generated order has nothing left to run: the answer shows it DONE.
  if (order.generation !== 'DONE') await launchProductionOrder(order.id);
  return order;
}
