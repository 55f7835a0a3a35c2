import type { Context } from 'aws-lambda';
import { runProductionOrder } from '../app/production-run';
import { logger } from '../logger';
import { launchProductionOrder } from './launcher';

/** Chunks start only while this much of the invocation is left: a chunk takes well under it. */
const CHUNK_HEADROOM_MS = 5 * 60 * 1000;

/**
 * The production worker (invoked asynchronously with `{ orderId }`): runs the order's chunks until
 * its time is nearly up, then invokes itself again for the rest. Lambda's own retries of a failed
 * invocation resume the order where it stopped (chunk markers; docs/production.md).
 */
export async function handler(event: { readonly orderId: string }, context: Context): Promise<string> {
  const deadlineMs = Date.now() + context.getRemainingTimeInMillis() - CHUNK_HEADROOM_MS;
  const outcome = await runProductionOrder(event.orderId, { deadlineMs });
  if (outcome === 'MORE') await launchProductionOrder(event.orderId, context.functionName);
  logger.info('production worker run', { orderId: event.orderId, outcome });
  return outcome;
}
