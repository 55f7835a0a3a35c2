import type { Card } from '../core/card-model';
import {
  type CardChainReport,
  type ChainBreak,
  type ChainCheckOptions,
  checkCardChain,
} from '../core/chain-check';
import { cardLedger, type KeyedEntry, programCardIds } from '../store/ledger-chain-reads';

/**
 * The ledger verifier (docs/ledger-chain.md): a card, a program's cards, or (export-verify.ts) a finance export, checked
 * against the hash chain. Reports the first break exactly (card, entry, what differs) and legacy spans
 * (entries from before the chain) as such. Progress goes to `onProgress`.
 */
export interface VerifyProgress {
  readonly phase: string;
  readonly done: number;
  readonly total?: number;
}

export interface VerifyOptions extends ChainCheckOptions {
  readonly onProgress?: (progress: VerifyProgress) => void;
}

export interface LedgerVerdict {
  readonly ok: boolean;
  readonly cards: number;
  readonly entries: number;
  /** Cards with entries from before the chain: their ids and spans (at most 100 listed). */
  readonly legacyCards: number;
  readonly legacy: readonly { readonly cardId: string; readonly from: number; readonly to: number }[];
  /** The first break found. */
  readonly broken?: ChainBreak;
  /** Breaks found (one a card and check: its chain, its signed head, continuity), the first 100 listed. */
  readonly breaksFound: number;
  readonly breaks: readonly ChainBreak[];
  /** For an export: what about the files, root, signature or continuity failed, in order found. */
  readonly problems: readonly string[];
}

const LEGACY_LISTED = 100;
const BREAKS_LISTED = 100;
const MAX_PROGRAM_PAGES = 100_000;

/** What a verification found so far (the export's checks add to it: functions/app/export-verify.ts). */
export class Tally {
  cards = 0;
  entries = 0;
  legacyCards = 0;
  readonly legacy: { cardId: string; from: number; to: number }[] = [];
  broken: ChainBreak | undefined;
  breaksFound = 0;
  readonly breaks: ChainBreak[] = [];
  readonly problems: string[] = [];

  /** A card's break (one a card: its first); the verdict's `broken` is the first of all. */
  addBreak(broken: ChainBreak): void {
    this.broken ??= broken;
    this.breaksFound += 1;
    if (this.breaks.length < BREAKS_LISTED) this.breaks.push(broken);
  }

  add(report: CardChainReport): void {
    this.cards += 1;
    this.entries += report.entries;
    if (report.legacy) {
      this.legacyCards += 1;
      if (this.legacy.length < LEGACY_LISTED) this.legacy.push({ cardId: report.cardId, ...report.legacy });
    }
    if (report.broken) this.addBreak(report.broken);
  }

  verdict(): LedgerVerdict {
    const ok = !this.broken && this.problems.length === 0;
    return {
      ok,
      cards: this.cards,
      entries: this.entries,
      legacyCards: this.legacyCards,
      legacy: this.legacy,
      ...(this.broken ? { broken: this.broken } : {}),
      breaksFound: this.breaksFound,
      breaks: this.breaks,
      problems: this.problems,
    };
  }
}

/** One card: its entries in key order, their hashes and links, and the card item's head. */
export async function verifyCard(cardId: string, options: VerifyOptions = {}): Promise<CardChainReport> {
  const { card, entries } = await cardLedger(cardId);
  return cardReport(cardId, card, entries, options);
}

/** A card's chain as read from the table (`card` undefined: no card item). */
export function cardReport(
  cardId: string,
  card: Card | undefined,
  entries: readonly KeyedEntry[],
  options: ChainCheckOptions = {},
): CardChainReport {
  if (!card && entries.length === 0) {
    return { cardId, entries: 0, head: { seq: 0 }, broken: { cardId, seq: 0, problem: 'no such card' } };
  }
  const report = checkCardChain(cardId, entries, card, options);
  if (!card && !report.broken) {
    return {
      ...report,
      broken: { cardId, seq: report.entries, problem: 'the card item is missing (deleted)' },
    };
  }
  return report;
}

/** Every card of a program (through its keys-only index): each one's first break, if any. */
export async function verifyProgram(programId: string, options: VerifyOptions = {}): Promise<LedgerVerdict> {
  const tally = new Tally();
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PROGRAM_PAGES; page++) {
    const { cardIds, next } = await programCardIds(programId, start);
    for (const cardId of cardIds) {
      tally.add(await verifyCard(cardId, options));
    }
    options.onProgress?.({ phase: 'cards', done: tally.cards });
    start = next;
    if (!start) break;
  }
  return tally.verdict();
}
