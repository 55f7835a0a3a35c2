import type { Card, CardChange, OperationContext } from '../card-model';
import { DomainError } from '../errors';
import type { PinRecord } from '../pin';
import type { Program } from '../program';
import { change } from './change';

/** State moves (block, unblock, deactivate) and PIN changes: no value moves. */

export function planBlock(card: Card, reason: string | undefined, context: OperationContext): CardChange {
  const next = { ...card, status: 'BLOCKED' as const, ...(reason ? { statusReason: reason } : {}) };
  return change(card, next, 'BLOCK', 0, context, { status: 'ACTIVE' }, reason);
}

export function planUnblock(card: Card, reason: string | undefined, context: OperationContext): CardChange {
  const { statusReason: _dropped, ...rest } = card;
  const next = { ...rest, status: 'ACTIVE' as const };
  return change(card, next, 'UNBLOCK', 0, context, { status: 'BLOCKED' }, reason);
}

export function planDeactivate(
  card: Card,
  program: Program,
  reason: string | undefined,
  context: OperationContext,
): CardChange {
  const emptyOnly = program.deactivation === 'REQUIRE_ZERO_BALANCE';
  if (emptyOnly && card.balance !== 0) {
    throw new DomainError(
      'CONFLICT',
      'This program deactivates only empty cards: cash out or transfer the balance first.',
    );
  }
  // Otherwise the balance stays on record (still a liability) until a transfer or cash-out moves it.
  const next = { ...card, status: 'DEACTIVATED' as const, ...(reason ? { statusReason: reason } : {}) };
  return change(card, next, 'DEACTIVATE', 0, context, emptyOnly ? { maxBalance: 0 } : {}, reason);
}

export function planPinChange(
  card: Card,
  type: 'PIN_SET' | 'PIN_RESET',
  hashed: { readonly hash: string; readonly salt: string } | undefined,
  existing: PinRecord | undefined,
  reason: string | undefined,
  context: OperationContext,
): CardChange {
  const planned = change(card, { ...card }, type, 0, context, {}, reason);
  const version = (existing?.version ?? 0) + 1;
  const next: PinRecord | null = hashed
    ? { cardId: card.id, ...hashed, failures: 0, version, updatedAt: context.now.toISOString() }
    : null;
  return { ...planned, pin: { next, expectVersion: existing?.version ?? null } };
}
