import { code128SymbolsFromText, code128SymbolText, decodeCode128, encodeCode128 } from './code128';
import { PrinterDataError } from './printer-data-error';
import { codeOfQrPayload, qrPayload } from './qr-payload';
import { decodeTrack2, decodeTrack2Bits, encodeTrack2, track2Expiry } from './track2';

/** A card of a production order, as the order's card source hands it to the printer file. */
export interface PrinterCard {
  /** 1-based position in the order: what the printer's operator reconciles against. */
  readonly sequence: number;
  readonly code: string;
  /** Only for programs with PINs. */
  readonly pin?: string;
  /** YYYY-MM-DD; none for cards that do not expire. */
  readonly expiresOn?: string;
}

export interface MagstripeOptions {
  /** Three digits, e.g. 721: private label, online authorization, no restrictions (ISO/IEC 7813). */
  readonly serviceCode: string;
  /** Digits written after the service code; never the PIN. */
  readonly discretionaryData?: string;
}

export interface PrinterRowOptions {
  /** Absent: no magnetic stripe, and the track 2 columns are empty. */
  readonly magstripe?: MagstripeOptions;
  /** Absent: the QR code holds the card code itself (core/production/qr-payload.ts). */
  readonly qrUrlTemplate?: string;
}

/** One line of a printer file: every value a card printer needs for one card. */
export interface PrinterRow {
  readonly sequence: number;
  readonly code: string;
  readonly pin: string;
  /** Code 128 symbol values, three digits each (core/production/code128.ts). */
  readonly code128: string;
  readonly qr: string;
  /** ';' to '?', without the LRC. */
  readonly track2: string;
  readonly track2Lrc: string;
  /** The 5-bit stripe form of track 2 and its LRC. */
  readonly track2Bits: string;
}

export const MAX_SEQUENCE = 99_999_999;

function assertCard(card: PrinterCard): void {
  if (!Number.isInteger(card.sequence) || card.sequence < 1 || card.sequence > MAX_SEQUENCE) {
    throw new PrinterDataError('ROW_VALUE', `A card's sequence is an integer from 1 to ${MAX_SEQUENCE}`);
  }
  if (!/^[0-9A-Z]{1,24}$/.test(card.code)) {
    throw new PrinterDataError(
      'ROW_VALUE',
      `Card ${card.sequence}: a code is 1 to 24 digits or upper-case letters`,
    );
  }
  if (card.pin !== undefined && !/^\d{4,12}$/.test(card.pin)) {
    throw new PrinterDataError('ROW_VALUE', `Card ${card.sequence}: a PIN is 4 to 12 digits`);
  }
}

function magstripeColumns(card: PrinterCard, magstripe: MagstripeOptions | undefined) {
  if (!magstripe) return { track2: '', track2Lrc: '', track2Bits: '' };
  const track = encodeTrack2({
    pan: card.code,
    expiryYymm: track2Expiry(card.expiresOn),
    serviceCode: magstripe.serviceCode,
    discretionaryData: magstripe.discretionaryData ?? '',
  });
  return { track2: track.characters, track2Lrc: track.lrc, track2Bits: track.bits };
}

/**
 * The row of a card, checked before it is returned: its barcode, QR payload and track 2 decode back to
 * its code (a printer file that encodes another card than it names would be a costly reprint).
 */
export function buildPrinterRow(card: PrinterCard, options: PrinterRowOptions): PrinterRow {
  assertCard(card);
  const row: PrinterRow = {
    sequence: card.sequence,
    code: card.code,
    pin: card.pin ?? '',
    code128: code128SymbolText(encodeCode128(card.code)),
    qr: qrPayload(card.code, options.qrUrlTemplate),
    ...magstripeColumns(card, options.magstripe),
  };
  if (decodedCodes(row, options).some((code) => code !== card.code)) {
    throw new Error(`Invariant: card ${card.sequence}'s barcode, QR and track 2 decode to its code`);
  }
  return row;
}

/**
 * What each machine-readable column of a row decodes to: the Code 128 text (check symbol verified), the
 * QR payload's code and, with a stripe, track 2's PAN from its characters and from its bits (parity
 * and LRC verified).
 */
export function decodedCodes(row: PrinterRow, options: Pick<PrinterRowOptions, 'qrUrlTemplate'>): string[] {
  const codes = [
    decodeCode128(code128SymbolsFromText(row.code128)),
    codeOfQrPayload(row.qr, options.qrUrlTemplate),
  ];
  if (row.track2Bits !== '') {
    codes.push(decodeTrack2(row.track2 + row.track2Lrc).pan, decodeTrack2Bits(row.track2Bits).pan);
  }
  return codes;
}
