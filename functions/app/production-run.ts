import type { OperationContext } from '../core/card';
import { notFound } from '../core/errors';
import type { ProductionOrder } from '../core/production/production-order';
import { logger } from '../logger';
import { IssueShards } from '../store/issued-cards';
import { ensureCartons } from '../store/packaging';
import { getPrinter } from '../store/printers';
import { claimGeneration, findChunk, findOrder, setGeneration } from '../store/production-orders';
import { getProgram } from '../store/programs';
import { codePeppers } from '../store/secrets';
import { type ChunkEnv, runChunk } from './production-chunk';

export interface RunOptions {
  /** Stop starting chunks after this instant (epoch ms) and hand the order on: 'MORE'. */
  readonly deadlineMs?: number;
  /** Tests: fail after committing this chunk's cards, before its file part (a crash). */
  readonly failAfterCommit?: (chunk: number) => boolean;
  /** Called after each chunk, with the cards done so far (the CLI's progress bar). */
  readonly onChunk?: (cardsDone: number) => void;
}

/** How many times a chunk is drawn again within one run (a code collision, a busy batch). */
const CHUNK_ATTEMPTS_PER_RUN = 3;

/** The context of production's writes: the order's creator made the cards; the channel is SYSTEM. */
const productionContext = (order: ProductionOrder, now: Date): OperationContext => ({
  actor: { type: 'system', id: 'production' },
  request: { channel: 'SYSTEM', reference: order.id },
  now,
});

async function chunkEnv(order: ProductionOrder, options: RunOptions): Promise<ChunkEnv> {
  const [program, printer, peppers] = await Promise.all([
    getProgram(order.programId),
    getPrinter(order.printerId),
    codePeppers(),
  ]);
  return {
    order,
    program,
    printerPublicKeyArmored: printer.publicKeyArmored,
    peppers,
    shards: new IssueShards(program.id, program.maxCards),
    context: productionContext(order, new Date()),
    ...(options.failAfterCommit ? { failAfterCommit: options.failAfterCommit } : {}),
  };
}

async function runChunkWithRetries(env: ChunkEnv, chunk: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const marker = await findChunk(env.order.id, chunk);
    if (marker?.status === 'DONE') return 0;
    try {
      const part = await runChunk({ ...env, context: { ...env.context, now: new Date() } }, chunk, marker);
      return part.rows;
    } catch (error) {
      if (attempt >= CHUNK_ATTEMPTS_PER_RUN || env.failAfterCommit) throw error;
      logger.warn('production chunk failed; drawing it again', { orderId: env.order.id, chunk, attempt });
    }
  }
}

/**
 * Generates an order's cards and printer file, resuming where any earlier run stopped. Primary course:
 * claim the order (one runner at a time), run each chunk not yet done, then write the cartons and mark
 * the order DONE. 'MORE': the deadline came first and the order is QUEUED for the next run; 'BUSY':
 * another run has it. A failure marks it FAILED (with a message naming no code), and a rerun resumes.
 */
export async function runProductionOrder(
  orderId: string,
  options: RunOptions = {},
): Promise<'DONE' | 'MORE' | 'BUSY'> {
  const order = await findOrder(orderId);
  if (!order) throw notFound('The production order');
  if (!(await claimGeneration(orderId))) return 'BUSY';
  try {
    const env = await chunkEnv(order, options);
    let cardsDone = 0;
    for (let chunk = 0; chunk < order.chunks; chunk++) {
      if (options.deadlineMs !== undefined && Date.now() >= options.deadlineMs) {
        await setGeneration(orderId, 'QUEUED', new Date());
        return 'MORE';
      }
      const rows = await runChunkWithRetries(env, chunk);
      cardsDone += rows;
      options.onChunk?.(Math.min(order.count, (chunk + 1) * order.chunkCards));
      if (rows > 0) logger.info('production chunk done', { orderId, chunk, cards: rows });
    }
    await ensureCartons(order);
    await setGeneration(orderId, 'DONE', new Date());
    logger.info('production order generated', { orderId, cards: order.count, cardsThisRun: cardsDone });
    return 'DONE';
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await setGeneration(orderId, 'FAILED', new Date(), message.slice(0, 500));
    throw error;
  }
}
