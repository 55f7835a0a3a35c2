import type { Card } from './card-model';
import type { LedgerEntry } from './ledger';
import { entryHash, genesisHash } from './ledger-chain';

/**
 * Checks one card's ledger as it streams past in entry order (pure; the verifier and the export feed
 * it): numbering by key, balance arithmetic, and the hash chain, then the card item's head. It stops
 * at the first break and names the entry: what it found, what it expected.
 */
export interface ChainBreak {
  readonly cardId: string;
  readonly seq: number;
  readonly problem: string;
}

/** Entries written before the chain: checked by arithmetic only, reported, not a break. */
export interface LegacySpan {
  readonly from: number;
  readonly to: number;
}

export interface CardChainReport {
  readonly cardId: string;
  readonly entries: number;
  readonly legacy?: LegacySpan;
  /** The last entry checked: its number and hash (undefined for a legacy entry). */
  readonly head: { readonly seq: number; readonly hash?: string };
  readonly broken?: ChainBreak;
}

export interface ChainCheckOptions {
  /** An entry without a hash dated after this instant is a break (hashes stripped), not legacy. */
  readonly chainedSince?: string;
}

export class ChainCheck {
  private seq = 0;
  private balance = 0;
  private previous: LedgerEntry | undefined;
  private legacy: LegacySpan | undefined;
  private broken: ChainBreak | undefined;

  constructor(
    readonly cardId: string,
    private readonly options: ChainCheckOptions = {},
  ) {}

  get ok(): boolean {
    return this.broken === undefined;
  }

  /** The next entry as stored; `keySeq` is the number in its sort key (TX#<seq>) when the reader has it. */
  add(entry: LedgerEntry, keySeq = entry.seq): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const expected = this.seq + 1;
    const problem = this.problemOf(entry, keySeq, expected);
    if (problem) {
      this.broken = { cardId: this.cardId, ...problem };
      return this.broken;
    }
    if (entry.hash === undefined) this.legacy = { from: this.legacy?.from ?? expected, to: expected };
    this.seq = expected;
    this.balance = entry.balanceAfter;
    this.previous = entry;
    return undefined;
  }

  private problemOf(
    entry: LedgerEntry,
    keySeq: number,
    expected: number,
  ): { seq: number; problem: string } | undefined {
    if (keySeq > expected) return { seq: expected, problem: `entry ${expected} is missing (deleted)` };
    if (keySeq < expected) return { seq: keySeq, problem: `entry ${keySeq} appears twice` };
    if (entry.seq !== keySeq || entry.cardId !== this.cardId) {
      return {
        seq: keySeq,
        problem: `the entry stored as ${this.cardId} #${keySeq} says it is ${entry.cardId} #${entry.seq} (moved or reordered)`,
      };
    }
    if (entry.hash !== undefined || entry.prevHash !== undefined) return this.linkProblem(entry);
    if (this.previous?.hash !== undefined) {
      return { seq: expected, problem: 'no hash, after chained entries (its hash was removed)' };
    }
    if (this.options.chainedSince && entry.createdAt > this.options.chainedSince) {
      return { seq: expected, problem: `no hash, though dated ${entry.createdAt}, after the chain began` };
    }
    return this.balanceProblem(entry);
  }

  private linkProblem(entry: LedgerEntry): { seq: number; problem: string } | undefined {
    const seq = entry.seq;
    if (entry.hash === undefined || entry.hash !== entryHash(entry)) {
      return {
        seq,
        problem: `its content does not match its hash ${entry.hash ?? '(none)'} (changed after it was written)`,
      };
    }
    const previous = this.previous;
    const link = previous?.hash ?? genesisHash(this.cardId, seq - 1);
    if (entry.prevHash !== link) {
      return previous?.hash !== undefined
        ? {
            seq: seq - 1,
            problem: `its hash ${previous.hash} is not the ${entry.prevHash} entry ${seq} was chained to (entry ${seq - 1} was rewritten)`,
          }
        : { seq, problem: `it links to ${entry.prevHash}, not the chain's start ${link}` };
    }
    return this.balanceProblem(entry);
  }

  private balanceProblem(entry: LedgerEntry): { seq: number; problem: string } | undefined {
    if (!Number.isSafeInteger(entry.amount) || this.balance + entry.amount !== entry.balanceAfter) {
      return {
        seq: entry.seq,
        problem: `balanceAfter ${entry.balanceAfter} is not ${this.balance} + ${entry.amount}`,
      };
    }
    return undefined;
  }

  /** Checks the card item against the last entry: its number, head hash and balance. */
  finish(card: Pick<Card, 'seq' | 'chainHash' | 'balance'> | undefined): CardChainReport {
    if (!this.broken && card) this.broken = this.headProblem(card);
    return {
      cardId: this.cardId,
      entries: this.seq,
      ...(this.legacy ? { legacy: this.legacy } : {}),
      head: { seq: this.seq, ...(this.previous?.hash ? { hash: this.previous.hash } : {}) },
      ...(this.broken ? { broken: this.broken } : {}),
    };
  }

  private headProblem(card: Pick<Card, 'seq' | 'chainHash' | 'balance'>): ChainBreak | undefined {
    const at = (seq: number, problem: string): ChainBreak => ({ cardId: this.cardId, seq, problem });
    if (card.seq > this.seq)
      return at(
        this.seq + 1,
        `entry ${this.seq + 1} is missing (deleted); the card's head is entry ${card.seq}`,
      );
    if (card.seq < this.seq)
      return at(this.seq, `the card's head is entry ${card.seq}, but entries go on to ${this.seq}`);
    const last = this.previous?.hash;
    if (card.chainHash !== last) {
      return at(
        this.seq,
        `its hash ${last ?? '(none)'} is not the card's head ${card.chainHash ?? '(none)'} (entry ${this.seq} was rewritten)`,
      );
    }
    if (card.balance !== this.balance) {
      return at(
        this.seq,
        `the card's balance ${card.balance} is not entry ${this.seq}'s balanceAfter ${this.balance}`,
      );
    }
    return undefined;
  }
}

/** One card's whole ledger, checked: its entries in order and the card item. */
export function checkCardChain(
  cardId: string,
  entries: readonly { readonly entry: LedgerEntry; readonly keySeq: number }[],
  card: Pick<Card, 'seq' | 'chainHash' | 'balance'> | undefined,
  options: ChainCheckOptions = {},
): CardChainReport {
  const check = new ChainCheck(cardId, options);
  for (const { entry, keySeq } of entries) if (check.add(entry, keySeq)) break;
  return check.finish(card);
}
