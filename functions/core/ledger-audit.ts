import type { LedgerEntry } from './ledger';
import { ledgerContinuityProblems } from './ledger-integrity';

/** The parts of a card item the audit compares with its ledger. */
export interface AuditedCard {
  readonly id: string;
  readonly currency: string;
  readonly balance: number;
}

export interface CardProblems {
  readonly cardId: string;
  readonly problems: readonly string[];
}

export interface LedgerAuditResult {
  readonly cards: number;
  readonly entries: number;
  /** Cards with broken rules, at most MAX_REPORTED (problemCards counts them all). */
  readonly problems: readonly CardProblems[];
  readonly problemCards: number;
  /**
   * Per currency, the value all cards held at `asOf`: each card's balance after its last entry dated at or
   * before it (the finance export's derivation, never the card item).
   */
  readonly liabilityAsOf: Readonly<Record<string, number>>;
}

/** A report names this many broken cards at most (the count covers them all). */
export const MAX_REPORTED = 100;

/**
 * Checks a ledger card by card, as a scan delivers it: every entry follows from the one before (numbering,
 * balance arithmetic, currency, available within balance), the card item's balance is its last entry's,
 * and it sums the liability as of an instant. Pure: the caller feeds it.
 */
export class LedgerAudit {
  private cards = 0;
  private entries = 0;
  private problemCards = 0;
  private readonly problems: CardProblems[] = [];
  private readonly liability = new Map<string, number>();

  constructor(private readonly asOf: string) {}

  addCard(card: AuditedCard | undefined, entries: readonly LedgerEntry[]): void {
    const ordered = [...entries].sort((a, b) => a.seq - b.seq);
    const cardId = card?.id ?? ordered[0]?.cardId ?? 'unknown';
    const problems: string[] = [];
    let previous: LedgerEntry | undefined;
    let asOfBalance: LedgerEntry | undefined;
    for (const entry of ordered) {
      const broken = ledgerContinuityProblems(entry, previous);
      if (previous && entry.seq !== previous.seq + 1) broken.push(`entry ${previous.seq + 1} is missing`);
      problems.push(...broken.map((problem) => `entry ${entry.seq}: ${problem}`));
      if (entry.createdAt <= this.asOf) asOfBalance = entry;
      previous = entry;
    }
    if (!card && ordered.length > 0) problems.push('ledger entries without a card item');
    if (card && previous) {
      if (card.balance !== previous.balanceAfter) {
        problems.push(`card balance ${card.balance} != last entry balance ${previous.balanceAfter}`);
      }
      if (card.currency !== previous.currency) problems.push('card currency differs from its ledger');
    }
    this.cards += card ? 1 : 0;
    this.entries += ordered.length;
    if (asOfBalance) {
      const { currency } = asOfBalance;
      this.liability.set(currency, (this.liability.get(currency) ?? 0) + asOfBalance.balanceAfter);
    }
    if (problems.length > 0) {
      this.problemCards += 1;
      if (this.problems.length < MAX_REPORTED) this.problems.push({ cardId, problems });
    }
  }

  result(): LedgerAuditResult {
    return {
      cards: this.cards,
      entries: this.entries,
      problems: [...this.problems],
      problemCards: this.problemCards,
      liabilityAsOf: Object.fromEntries([...this.liability].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
  }
}

/** Currencies whose liability differs between two audits (either side missing counts as 0). */
export function liabilityDifferences(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): { currency: string; left: number; right: number }[] {
  const currencies = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return currencies
    .map((currency) => ({ currency, left: a[currency] ?? 0, right: b[currency] ?? 0 }))
    .filter((line) => line.left !== line.right);
}
