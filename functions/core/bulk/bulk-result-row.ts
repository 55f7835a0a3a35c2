import { csvRow } from '../csv';

/**
 * One line of a batch's result file: the row's reference, the card issued for it and how the customer
 * hands it on: a claim link, the code (CODES batches) or the e-gift delivery that sends it. Values written
 * back from the customer's file (the reference) go through csvRow, which neutralises formulas.
 */
export interface BulkResultRow {
  readonly line: number;
  readonly reference: string;
  readonly cardId: string;
  readonly last4: string;
  readonly amountMinor: number;
  readonly claimLink?: string;
  readonly code?: string;
  /** SCHEDULED when the row's recipient is sent the e-gift message. */
  readonly delivery?: string;
}

export const RESULT_COLUMNS = [
  'line',
  'reference',
  'card_id',
  'last4',
  'amount',
  'claim_link',
  'code',
  'delivery',
] as const;

export const resultHeader = (): string => csvRow(RESULT_COLUMNS);

export const resultLine = (row: BulkResultRow): string =>
  csvRow([
    row.line,
    row.reference,
    row.cardId,
    row.last4,
    row.amountMinor,
    row.claimLink,
    row.code,
    row.delivery,
  ]);
