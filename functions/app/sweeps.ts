import { DomainError } from '../core/errors';
import type { Actor } from '../core/ledger';
import { due, expirySweepPartitions, holdSweepPartitions } from '../store/sweeps';
import { changeCard } from './card-change';

/** The scheduled sweeps: hold expiry and card expiry (breakage), each safe to run any number of times. */
export interface SweepReport {
  readonly examined: number;
  readonly changed: number;
  /** Skipped because something else settled them first (captured, voided, emptied). */
  readonly skipped: number;
  readonly failed: number;
}

async function sweep(
  partitions: string[],
  indexName: 'GSI1' | 'GSI4',
  now: Date,
  act: (key: { PK: string; SK: string }) => Promise<unknown>,
): Promise<SweepReport> {
  let examined = 0;
  let changed = 0;
  let skipped = 0;
  let failed = 0;
  for (const partition of partitions) {
    for await (const key of due(indexName, partition, now)) {
      examined += 1;
      try {
        await act(key);
        changed += 1;
      } catch (error) {
        // A refusal means the item was settled meanwhile; anything else is retried by the next run.
        if (error instanceof DomainError) skipped += 1;
        else failed += 1;
      }
    }
  }
  return { examined, changed, skipped, failed };
}

const systemContext = (job: string, now: Date) => ({
  actor: { type: 'system', id: job } satisfies Actor,
  request: { channel: 'SYSTEM' as const },
  now,
});

/**
 * The time a sweep's change is made at: the run's fixed time when given (tests move the clock), else the
 * clock when the change is planned, so an entry written minutes into a long run is not dated at its start
 * (finance exports rely on entries committing within the card write budget of their createdAt).
 */
const changeTime = (fixed: Date | undefined): Date => fixed ?? new Date();

/** Releases holds past their expiry with a VOID entry. Safe to run any number of times. */
export function releaseExpiredHolds(now?: Date): Promise<SweepReport> {
  return sweep(holdSweepPartitions(), 'GSI1', changeTime(now), ({ PK, SK }) =>
    changeCard(
      PK.slice('CARD#'.length),
      { type: 'VOID', holdId: SK.slice('HOLD#'.length), expired: true },
      systemContext('hold-expiry', changeTime(now)),
      () => true,
    ),
  );
}

/** Moves the remaining value of expired cards to breakage with an EXPIRE entry, once per card. */
export function expireCards(now?: Date): Promise<SweepReport> {
  return sweep(expirySweepPartitions(), 'GSI4', changeTime(now), ({ PK }) =>
    changeCard(
      PK.slice('CARD#'.length),
      { type: 'EXPIRE' },
      systemContext('expiry-sweep', changeTime(now)),
      () => true,
    ),
  );
}
