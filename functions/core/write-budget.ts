/**
 * How long a change keeps trying on a busy card before answering CONFLICT (the caller may retry with the
 * same Idempotency-Key). Well inside the API function's timeout. No attempt to write a ledger entry
 * starts later than this after the change began, which bounds how long after its `createdAt` an entry
 * can still commit: finance exports wait that out past their cutoff (functions/core/export-period.ts).
 * An attempt also plans at its own time (core/request-clock.ts), so an entry's `createdAt` is at most one
 * attempt older than its commit.
 */
export const CARD_WRITE_BUDGET_MS = 8_000;
