/**
 * A card that cannot be put into a printer file as asked (a code a magnetic stripe cannot carry, a value
 * wider than its fixed-width column, a payload that does not decode). The message names the field and
 * the rule, never the value: codes and PINs appear in no log, and errors are logged.
 */
export type PrinterDataReason =
  | 'TRACK2_NOT_NUMERIC'
  | 'TRACK2_TOO_LONG'
  | 'TRACK2_FIELD'
  | 'TRACK2_PARITY'
  | 'TRACK2_LRC'
  | 'TRACK2_FORMAT'
  | 'CODE128_CHARACTER'
  | 'CODE128_TOO_LONG'
  | 'CODE128_CHECK'
  | 'CODE128_FORMAT'
  | 'QR_TEMPLATE'
  | 'QR_PAYLOAD'
  | 'ROW_VALUE'
  | 'FIXED_WIDTH_OVERFLOW';

export class PrinterDataError extends Error {
  readonly reason: PrinterDataReason;

  constructor(reason: PrinterDataReason, message: string) {
    super(message);
    this.name = 'PrinterDataError';
    this.reason = reason;
  }
}
