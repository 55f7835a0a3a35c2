import type { LedgerEntry } from './ledger';

/**
 * What must hold between a ledger entry and the one before it on the same card. Returns the broken
 * rules (empty when the entry is sound).
 */
export function ledgerContinuityProblems(entry: LedgerEntry, previous: LedgerEntry | undefined): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(entry.amount) || !Number.isSafeInteger(entry.balanceAfter))
    problems.push('non-integer amount');
  if (entry.availableAfter < 0) problems.push('available below zero');
  if (entry.availableAfter > entry.balanceAfter) problems.push('available above balance');
  if (entry.seq === 1) {
    if (entry.balanceAfter !== entry.amount) problems.push('first entry balance differs from its amount');
    return problems;
  }
  if (!previous) return [...problems, `entry ${entry.seq - 1} is missing`];
  if (previous.currency !== entry.currency) problems.push('currency changed');
  if (previous.balanceAfter + entry.amount !== entry.balanceAfter) {
    problems.push(`balance ${previous.balanceAfter} + ${entry.amount} != ${entry.balanceAfter}`);
  }
  return problems;
}
