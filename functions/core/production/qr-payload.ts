import { PrinterDataError } from './printer-data-error';

/**
 * What a card's QR code holds. Without a template, the card code itself. With one, an https URL
 * template holding `{code}` exactly once (for example `https://gift.example.com/balance?code={code}`),
 * so a phone camera opens the card's page; the code is inserted URL-encoded.
 */
export const QR_CODE_PLACEHOLDER = '{code}';
/** Keeps a QR code scannable when printed on a card (version 10 at level M holds 213 bytes). */
export const QR_PAYLOAD_MAX_CHARACTERS = 200;

export function assertQrTemplate(template: string): void {
  const parts = template.split(QR_CODE_PLACEHOLDER);
  if (parts.length !== 2) {
    throw new PrinterDataError('QR_TEMPLATE', `A QR URL template holds ${QR_CODE_PLACEHOLDER} exactly once`);
  }
  if (!URL.canParse(template.replace(QR_CODE_PLACEHOLDER, 'CODE')) || !template.startsWith('https://')) {
    throw new PrinterDataError('QR_TEMPLATE', 'A QR URL template is an https URL');
  }
}

export function qrPayload(code: string, template?: string): string {
  if (template === undefined) return code;
  assertQrTemplate(template);
  const payload = template.replace(QR_CODE_PLACEHOLDER, encodeURIComponent(code));
  if (payload.length > QR_PAYLOAD_MAX_CHARACTERS) {
    throw new PrinterDataError(
      'QR_PAYLOAD',
      `A QR payload holds at most ${QR_PAYLOAD_MAX_CHARACTERS} characters; this one has ${payload.length}`,
    );
  }
  return payload;
}

/** The card code a QR payload carries (the inverse of qrPayload for the same template). */
export function codeOfQrPayload(payload: string, template?: string): string {
  if (template === undefined) return payload;
  const [before = '', after = ''] = template.split(QR_CODE_PLACEHOLDER);
  if (
    !payload.startsWith(before) ||
    !payload.endsWith(after) ||
    payload.length < before.length + after.length
  ) {
    throw new PrinterDataError('QR_PAYLOAD', 'The QR payload does not follow the URL template');
  }
  return decodeURIComponent(payload.slice(before.length, payload.length - after.length));
}
