import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DomainError } from '../core/errors';
import { db } from './dynamo-client';
import { type IdempotencyClaim, idempotencyPut, replay } from './idempotency';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface CancellationReason {
  readonly code: string;
  readonly item?: Record<string, unknown>;
}

export type WriteOutcome<T> =
  | { readonly kind: 'committed' }
  | { readonly kind: 'replayed'; readonly result: T }
  | { readonly kind: 'cancelled'; readonly reasons: readonly CancellationReason[] }
  /** Another request with the same key is committing right now. */
  | { readonly kind: 'key-busy' };

/**
 * One TransactWriteItems: the change's items plus, when a key was sent, the idempotency record with
 * the result. Tells a committed write from a replay of an earlier one and from a failed condition.
 */
export async function writeAtomically<T>(
  items: TransactItem[],
  idempotency: { claim: IdempotencyClaim | undefined; result: T; now: Date },
): Promise<WriteOutcome<T>> {
  const { claim, result, now } = idempotency;
  const all = claim ? [...items, await idempotencyPut(claim, result, now)] : items;
  try {
    await db().send(new TransactWriteCommand({ TransactItems: all }));
    return { kind: 'committed' };
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons: CancellationReason[] = (error.CancellationReasons ?? []).map((reason) => ({
      code: reason.Code ?? 'None',
      ...(reason.Item ? { item: unmarshall(reason.Item) } : {}),
    }));
    const idempotencyReason = claim ? reasons[items.length] : undefined;
    if (claim && idempotencyReason?.code === 'ConditionalCheckFailed' && idempotencyReason.item) {
      const earlier = await replay<T>(claim, idempotencyReason.item, now);
      if (earlier !== undefined) return { kind: 'replayed', result: earlier };
    }
    // The key alone was contended (another request with it is committing): not when the change's own
    // items conflicted too, which is a busy card (DynamoDB Local reports the conflict on every item).
    if (
      claim &&
      idempotencyReason?.code === 'TransactionConflict' &&
      reasons.slice(0, items.length).every((r) => r.code === 'None')
    ) {
      return { kind: 'key-busy' };
    }
    return { kind: 'cancelled', reasons: reasons.slice(0, items.length) };
  }
}

/** Full-jitter exponential backoff for optimistic-concurrency retries on a busy item. */
export function backoff(attempt: number, baseMs = 10, capMs = 1_000): Promise<void> {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

export const keyInProgress = () =>
  new DomainError(
    'IDEMPOTENCY_IN_PROGRESS',
    'A request with this Idempotency-Key is in progress; retry shortly.',
  );
