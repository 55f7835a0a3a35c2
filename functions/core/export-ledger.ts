import { ChainCheck } from './chain-check';
import type { CsvValue } from './csv';
import type { EntryType, LedgerEntry } from './ledger';

/**
 * What a finance export derives from the ledger, card by card, for one period (periodStart, cutoff]:
 * each card's balance at the start and at the cutoff (balanceAfter of its last entry dated at or before
 * each), the period's entries (the journal), and per program and currency the movements that take the
 * opening liability to the closing one. Pure: the store streams one card's entries (in entry order) in
 * and takes rows out, so memory does not grow with the number of cards.
 *
 * The card's entries are checked as they pass: numbered 1, 2, 3... without gaps, each balanceAfter the
 * previous one plus the amount, dated in order around the period's ends. A ledger that fails any of
 * these fails the export, naming the card, rather than producing figures that do not tie out.
 */
export const MOVEMENTS = [
  'issued',
  'activated',
  'loaded',
  'redeemed',
  'refunded',
  'reversed',
  'transferredIn',
  'transferredOut',
  'adjusted',
  'cashedOut',
  'expired',
  'other',
] as const;
export type Movement = (typeof MOVEMENTS)[number];

const MOVEMENT_OF: Partial<Record<EntryType, Movement>> = {
  ISSUE: 'issued',
  ACTIVATE: 'activated',
  LOAD: 'loaded',
  REDEEM: 'redeemed',
  CAPTURE: 'redeemed',
  REFUND: 'refunded',
  REVERSAL: 'reversed',
  TRANSFER_IN: 'transferredIn',
  TRANSFER_OUT: 'transferredOut',
  ADJUST_INCREMENT: 'adjusted',
  ADJUST_DECREMENT: 'adjusted',
  CLEAR_BALANCE: 'cashedOut',
  EXPIRE: 'expired',
};

/** Entry types that move no money (holds, state and PIN changes) land in `other`, which stays 0. */
export const movementOf = (type: EntryType): Movement => MOVEMENT_OF[type] ?? 'other';

export type Movements = Record<Movement, number>;

const noMovements = (): Movements =>
  Object.fromEntries(MOVEMENTS.map((movement) => [movement, 0])) as Movements;

/** One program and currency of the summary. Movements are signed: + adds to the liability. */
export interface SummaryLine {
  readonly programId: string;
  readonly currency: string;
  /** Cards that existed at the cutoff (a row in the balances file). */
  cards: number;
  openingLiability: number;
  movements: Movements;
  closingLiability: number;
  journalEntries: number;
}

export interface ExportWindow {
  /** ISO instants (toISOString), compared as strings like the entries' createdAt. */
  readonly periodStart: string;
  readonly cutoff: string;
}

export class LedgerCheckFailed extends Error {
  override readonly name = 'LedgerCheckFailed';
}

/** The balances file row of a card that existed at the cutoff. */
export interface BalanceRow {
  readonly cardId: string;
  readonly programId: string;
  readonly currency: string;
  readonly balance: number;
  readonly openingBalance: number;
  readonly lastTransactionId: string;
  readonly lastTransactionAt: string;
  /** The card's chain head at the cutoff: its last entry's number and hash (none for a legacy entry). */
  readonly chainSeq: number;
  readonly chainHash?: string;
}

/** One card's entries folded as they stream past, in entry order. */
export class CardFold {
  private seq = 0;
  private balance = 0;
  private opening = 0;
  private closing:
    | {
        readonly id: string;
        readonly createdAt: string;
        readonly balance: number;
        readonly seq: number;
        readonly hash?: string;
      }
    | undefined;
  private readonly chain: ChainCheck;
  private passedStart = false;
  private passedCutoff = false;
  private readonly movements = noMovements();
  private journalEntries = 0;
  private programId = '';
  private currency = '';

  constructor(
    readonly cardId: string,
    private readonly window: ExportWindow,
  ) {
    this.chain = new ChainCheck(cardId);
  }

  /** Takes the card's next entry; returns it when it belongs to the period's journal. */
  add(entry: LedgerEntry): LedgerEntry | undefined {
    const where = `card ${this.cardId} entry ${entry.seq}`;
    if (entry.cardId !== this.cardId) throw new LedgerCheckFailed(`${where}: belongs to ${entry.cardId}`);
    if (entry.seq !== this.seq + 1) throw new LedgerCheckFailed(`${where}: follows entry ${this.seq}`);
    if (!Number.isSafeInteger(entry.amount) || this.balance + entry.amount !== entry.balanceAfter) {
      throw new LedgerCheckFailed(
        `${where}: balanceAfter ${entry.balanceAfter} is not ${this.balance} + ${entry.amount}`,
      );
    }
    const broken = this.chain.add(entry);
    if (broken) throw new LedgerCheckFailed(`card ${broken.cardId} entry ${broken.seq}: ${broken.problem}`);
    this.seq = entry.seq;
    this.balance = entry.balanceAfter;
    this.programId ||= entry.programId;
    this.currency ||= entry.currency;
    const { periodStart, cutoff } = this.window;
    if (entry.createdAt <= periodStart) {
      if (this.passedStart) throw outOfOrder(where, periodStart);
      this.opening = entry.balanceAfter;
    } else {
      this.passedStart = true;
    }
    if (entry.createdAt > cutoff) {
      this.passedCutoff = true;
      return undefined;
    }
    if (this.passedCutoff) throw outOfOrder(where, cutoff);
    this.closing = {
      id: entry.id,
      createdAt: entry.createdAt,
      balance: entry.balanceAfter,
      seq: entry.seq,
      ...(entry.hash ? { hash: entry.hash } : {}),
    };
    if (entry.createdAt <= periodStart) return undefined;
    this.movements[movementOf(entry.type)] += entry.amount;
    this.journalEntries += 1;
    return entry;
  }

  /** The card's balance row, or undefined when it had no entry by the cutoff (issued later). */
  balanceRow(): BalanceRow | undefined {
    if (!this.closing) return undefined;
    return {
      cardId: this.cardId,
      programId: this.programId,
      currency: this.currency,
      balance: this.closing.balance,
      openingBalance: this.opening,
      lastTransactionId: this.closing.id,
      lastTransactionAt: this.closing.createdAt,
      chainSeq: this.closing.seq,
      ...(this.closing.hash ? { chainHash: this.closing.hash } : {}),
    };
  }

  /** Adds the card to its program and currency's summary line. */
  addTo(summary: Summary): void {
    const row = this.balanceRow();
    if (!row) return;
    const line = summary.line(row.programId, row.currency);
    line.cards += 1;
    line.openingLiability += row.openingBalance;
    line.closingLiability += row.balance;
    line.journalEntries += this.journalEntries;
    for (const movement of MOVEMENTS) line.movements[movement] += this.movements[movement];
  }
}

const outOfOrder = (where: string, instant: string) =>
  new LedgerCheckFailed(`${where}: dated at or before ${instant} after an entry dated later`);

/** Summary lines by program and currency; segments' summaries merge into one. */
export class Summary {
  private readonly lines = new Map<string, SummaryLine>();

  line(programId: string, currency: string): SummaryLine {
    const key = `${programId}|${currency}`;
    let line = this.lines.get(key);
    if (!line) {
      line = {
        programId,
        currency,
        cards: 0,
        openingLiability: 0,
        movements: noMovements(),
        closingLiability: 0,
        journalEntries: 0,
      };
      this.lines.set(key, line);
    }
    return line;
  }

  merge(lines: readonly SummaryLine[]): this {
    for (const other of lines) {
      const line = this.line(other.programId, other.currency);
      line.cards += other.cards;
      line.openingLiability += other.openingLiability;
      line.closingLiability += other.closingLiability;
      line.journalEntries += other.journalEntries;
      for (const movement of MOVEMENTS) line.movements[movement] += other.movements[movement] ?? 0;
    }
    return this;
  }

  /** Sorted by program, then currency, so the file is the same on every run. */
  toLines(): SummaryLine[] {
    return [...this.lines.values()].sort((a, b) =>
      a.programId === b.programId
        ? a.currency.localeCompare(b.currency)
        : a.programId.localeCompare(b.programId),
    );
  }
}

export const movementTotal = (line: SummaryLine): number =>
  MOVEMENTS.reduce((sum, movement) => sum + line.movements[movement], 0);

/** Opening liability + the period's movements = closing liability, for every line; else the export fails. */
export function checkLiabilityEquation(lines: readonly SummaryLine[]): void {
  const broken = lines.filter(
    (line) => line.openingLiability + movementTotal(line) !== line.closingLiability,
  );
  if (broken.length > 0) {
    throw new LedgerCheckFailed(
      `Opening liability + movements != closing liability for ${broken
        .map(
          (line) =>
            `${line.programId} ${line.currency}: ${line.openingLiability} + ${movementTotal(line)} != ${line.closingLiability}`,
        )
        .join('; ')}`,
    );
  }
}

/** Totals per currency (amounts of different currencies never add up). */
export function totalsByCurrency(lines: readonly SummaryLine[]) {
  const totals = new Map<
    string,
    {
      currency: string;
      cards: number;
      openingLiability: number;
      closingLiability: number;
      journalEntries: number;
      movements: Movements;
    }
  >();
  for (const line of lines) {
    let total = totals.get(line.currency);
    if (!total) {
      total = {
        currency: line.currency,
        cards: 0,
        openingLiability: 0,
        closingLiability: 0,
        journalEntries: 0,
        movements: noMovements(),
      };
      totals.set(line.currency, total);
    }
    total.cards += line.cards;
    total.openingLiability += line.openingLiability;
    total.closingLiability += line.closingLiability;
    total.journalEntries += line.journalEntries;
    for (const movement of MOVEMENTS) total.movements[movement] += line.movements[movement];
  }
  return [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

/** snake_case column names of the movements, in file order. */
const column = (movement: Movement) => movement.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export const BALANCE_COLUMNS = [
  'card_id',
  'program_id',
  'currency',
  'balance',
  'opening_balance',
  'last_transaction_id',
  'last_transaction_at',
  'chain_seq',
  'chain_hash',
] as const;

export const balanceCells = (row: BalanceRow): CsvValue[] => [
  row.cardId,
  row.programId,
  row.currency,
  row.balance,
  row.openingBalance,
  row.lastTransactionId,
  row.lastTransactionAt,
  row.chainSeq,
  row.chainHash,
];

export const JOURNAL_COLUMNS = [
  'transaction_id',
  'card_id',
  'program_id',
  'seq',
  'type',
  'amount',
  'currency',
  'balance_after',
  'available_after',
  'actor_type',
  'actor_id',
  'actor_key_id',
  'actor_role',
  'merchant_id',
  'channel',
  'location_id',
  'terminal_id',
  'reference',
  'reason',
  'related_transaction_id',
  'created_at',
] as const;

export const journalCells = (entry: LedgerEntry): CsvValue[] => [
  entry.id,
  entry.cardId,
  entry.programId,
  entry.seq,
  entry.type,
  entry.amount,
  entry.currency,
  entry.balanceAfter,
  entry.availableAfter,
  entry.actor?.type,
  entry.actor?.id,
  entry.actor?.keyId,
  entry.actor?.role,
  entry.merchantId,
  entry.channel,
  entry.locationId,
  entry.terminalId,
  entry.reference,
  entry.reason,
  entry.relatedTransactionId,
  entry.createdAt,
];

/** Movements are signed amounts in minor units: + adds to the liability (issued, loaded), - takes from it. */
export const SUMMARY_COLUMNS = [
  'program_id',
  'currency',
  'cards',
  'opening_liability',
  ...MOVEMENTS.map(column),
  'closing_liability',
  'journal_entries',
] as const;

export const summaryCells = (line: SummaryLine): CsvValue[] => [
  line.programId,
  line.currency,
  line.cards,
  line.openingLiability,
  ...MOVEMENTS.map((movement) => line.movements[movement]),
  line.closingLiability,
  line.journalEntries,
];
