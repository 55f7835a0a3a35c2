import { config } from '../config';
import type { OperationContext } from '../core/card';
import { planIssue } from '../core/card';
import { cardIdForCode, generateCode, last4, randomDigits } from '../core/card-code';
import { DomainError } from '../core/errors';
import { checkNewPin, hashPinInPool, type PinRecord } from '../core/pin';
import { buildPrinterRow, type PrinterRow } from '../core/production/printer-row';
import {
  chunkRange,
  type PrinterFilePart,
  type ProductionOrder,
  printerPartKey,
} from '../core/production/production-order';
import { expiryAfter, type Program } from '../core/program';
import type { IssueShards } from '../store/issued-cards';
import { cardKey } from '../store/keys';
import { batchGet } from '../store/listing';
import { writePrinterFile } from '../store/printer-file';
import { cardsPerTransaction, commitCardBatch, type ProducedCard } from '../store/production-cards';
import { type ChunkMarker, finishChunk, startChunkAttempt } from '../store/production-orders';
import type { CodePeppers } from '../store/secrets';
import { backoff } from '../store/transact';
import { changeCard } from './card-change';

/** A drawn card of a chunk, in clear: lives only in this module's memory, for one chunk. */
interface DrawnCard {
  readonly sequence: number;
  readonly code: string;
  readonly cardId: string;
  readonly pin?: string;
  /** The code's card ids under the older peppers (after a rotation): they must not exist. */
  readonly olderIds: readonly string[];
}

export interface ChunkEnv {
  readonly order: ProductionOrder;
  readonly program: Program;
  readonly printerPublicKeyArmored: string;
  readonly peppers: CodePeppers;
  readonly shards: IssueShards;
  readonly context: OperationContext;
  /** Tests: fail after the chunk's cards are committed, before its file part is written (a crash). */
  readonly failAfterCommit?: (chunk: number) => boolean;
}

const MAX_BATCH_RETRIES = 8;

/** A PIN no guesser tries first (checkNewPin's rules), of the default length. */
function drawPin(): string {
  for (;;) {
    const pin = randomDigits(4);
    try {
      checkNewPin(pin);
      return pin;
    } catch {
      // Drawn again: 1111, 1234 and the like are refused.
    }
  }
}

function drawCards(env: ChunkEnv, first: number, last: number): DrawnCard[] {
  const drawn: DrawnCard[] = [];
  const ids = new Set<string>();
  for (let sequence = first; sequence <= last; sequence++) {
    let code = generateCode(env.program.codeFormat);
    let cardId = cardIdForCode(code, env.peppers.current.value);
    while (ids.has(cardId)) {
      code = generateCode(env.program.codeFormat);
      cardId = cardIdForCode(code, env.peppers.current.value);
    }
    ids.add(cardId);
    // As for any issue (app/card-issue.ts): the same code under an older pepper is another card's.
    const olderIds = [
      ...new Set(env.peppers.lookupOrder.slice(1).map((pepper) => cardIdForCode(code, pepper.value))),
    ].filter((id) => id !== cardId);
    drawn.push({ sequence, code, cardId, olderIds, ...(env.order.withPin ? { pin: drawPin() } : {}) });
  }
  return drawn;
}

async function produce(env: ChunkEnv, drawn: DrawnCard): Promise<ProducedCard> {
  const { order, program, context } = env;
  const planned = planIssue(
    program,
    {
      cardId: drawn.cardId,
      last4: last4(drawn.code),
      type: 'PHYSICAL',
      amount: 0,
      activate: false,
      pepperId: env.peppers.current.id,
      metadata: {
        productionOrderId: order.id,
        sequence: drawn.sequence,
        ...(order.denomination === undefined ? {} : { denomination: order.denomination }),
      },
    },
    context,
  );
  const olderIds = drawn.olderIds.length > 0 ? { olderIds: drawn.olderIds } : {};
  if (!drawn.pin) return { card: planned.card, entries: planned.entries, ...olderIds };
  const pin: PinRecord = {
    cardId: drawn.cardId,
    ...(await hashPinInPool(drawn.pin)),
    failures: 0,
    version: 1,
    updatedAt: context.now.toISOString(),
  };
  return { card: planned.card, entries: planned.entries, pin, ...olderIds };
}

/** Transactions of a chunk in flight at once (each on its own issue shard, mostly). */
const TRANSACTIONS_IN_FLIGHT = 4;

async function commitBatch(env: ChunkEnv, batch: readonly ProducedCard[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const shard = env.shards.pick();
    if (shard === undefined) {
      throw new DomainError('LIMIT_EXCEEDED', 'The program has issued the most cards it may (maxCards).');
    }
    const outcome = await commitCardBatch(
      batch,
      env.program.id,
      env.program.maxCards,
      shard,
      env.context.now,
    );
    if (outcome === 'COMMITTED') return;
    if (outcome === 'CODE_TAKEN')
      throw new Error('A drawn code was already issued: the chunk is drawn again');
    if (attempt >= MAX_BATCH_RETRIES) throw new Error('A card batch kept conflicting; the chunk is retried');
    if (outcome === 'SHARD_FULL') await env.shards.full(shard);
    else await backoff(attempt);
  }
}

/** Commits the chunk's cards in transactions, a few in flight, each batch counted in an issue shard. */
async function commitCards(env: ChunkEnv, drawn: readonly DrawnCard[]): Promise<void> {
  const olderPeppers = env.peppers.lookupOrder.length - 1;
  const perTransaction = cardsPerTransaction((env.order.withPin ? 3 : 2) + olderPeppers);
  let next = 0;
  const worker = async () => {
    while (next < drawn.length) {
      const start = next;
      next += perTransaction;
      const batch = drawn.slice(start, start + perTransaction);
      await commitBatch(env, await Promise.all(batch.map((card) => produce(env, card))));
    }
  };
  await Promise.all(Array.from({ length: TRANSACTIONS_IN_FLIGHT }, worker));
}

async function* rowsOf(
  env: ChunkEnv,
  drawn: readonly DrawnCard[],
  expiresOn?: string,
): AsyncGenerator<PrinterRow> {
  for (const card of drawn) {
    yield buildPrinterRow(
      {
        sequence: card.sequence,
        code: card.code,
        ...(card.pin ? { pin: card.pin } : {}),
        ...(expiresOn ? { expiresOn } : {}),
      },
      {
        ...(env.order.magstripe ? { magstripe: env.order.magstripe } : {}),
        ...(env.order.qrUrlTemplate ? { qrUrlTemplate: env.order.qrUrlTemplate } : {}),
      },
    );
  }
}

/**
 * Voids the cards an unfinished attempt may have committed: their codes were only in a file part that
 * is overwritten now, so nobody can ever use them. Each still PENDING is deactivated with a ledger entry;
 * ids never committed are skipped.
 */
export async function voidCardsOfAttempt(env: ChunkEnv, marker: ChunkMarker): Promise<number> {
  const found = await batchGet(marker.cardIds.map((id) => cardKey(id)));
  let voided = 0;
  for (const cardId of marker.cardIds) {
    const item = found.get(`${cardKey(cardId).PK}|CARD`);
    if (item?.status !== 'PENDING') continue;
    await changeCard(
      cardId,
      {
        type: 'DEACTIVATE',
        reason: `production order ${env.order.id}: chunk ${marker.chunk} rewritten, code never printed`,
      },
      env.context,
      () => true,
    );
    voided++;
  }
  return voided;
}

/**
 * One chunk, exactly once. Primary course: draw the chunk's codes (and PINs) in memory, record the
 * card ids on the chunk's marker (a new attempt), commit the cards in transactions, stream the file part
 * (encrypted to the printer) to S3, then mark the chunk done and count it on the order in one
 * transaction. A crash anywhere before that last write leaves the marker COMMITTING: the rerun voids
 * the cards of that attempt (their codes were lost) and draws the chunk again, overwriting the part.
 */
export async function runChunk(
  env: ChunkEnv,
  chunk: number,
  marker: ChunkMarker | undefined,
): Promise<PrinterFilePart> {
  if (marker?.status === 'DONE') throw new Error(`Invariant: chunk ${chunk} is not done yet`);
  if (marker) await voidCardsOfAttempt(env, marker);
  const { first, last } = chunkRange(env.order, chunk);
  const drawn = drawCards(env, first, last);
  const attempt = (marker?.attempt ?? 0) + 1;
  const started = await startChunkAttempt(
    env.order.id,
    chunk,
    marker?.attempt ?? 0,
    drawn.map((card) => card.cardId),
  );
  if (!started)
    throw new DomainError(
      'CONFLICT',
      `Chunk ${chunk} of order ${env.order.id} is being written by another run`,
    );
  await commitCards(env, drawn);
  if (env.failAfterCommit?.(chunk)) throw new Error(`Injected failure after committing chunk ${chunk}`);
  const expiresAt = expiryAfter(env.program.expiryPolicy, 'ISSUE', env.context.now, undefined);
  const bucket = config().PRINTER_FILE_BUCKET_NAME;
  if (!bucket) throw new Error('PRINTER_FILE_BUCKET_NAME is not configured: production orders need it');
  const key = printerPartKey(env.order.id, chunk, env.order.layout);
  const written = await writePrinterFile(rowsOf(env, drawn, expiresAt?.slice(0, 10)), {
    layout: env.order.layout,
    printerPublicKeyArmored: env.printerPublicKeyArmored,
    target: { bucket, key, kmsKeyId: config().PRINTER_FILE_KMS_KEY_ID },
  });
  if (written.rows !== drawn.length) throw new Error(`Invariant: part ${key} holds every card of its chunk`);
  const part: PrinterFilePart = {
    chunk,
    key,
    firstSequence: first,
    lastSequence: last,
    rows: written.rows,
    bytes: written.bytes,
    sha256: written.sha256,
  };
  await finishChunk(env.order.id, chunk, attempt, part, env.context.now);
  return part;
}
