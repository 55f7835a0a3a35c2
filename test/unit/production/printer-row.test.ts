import { describe, expect, it } from 'vitest';
import { generateCode } from '../../../functions/core/card-code';
import { buildPrinterRow, decodedCodes } from '../../../functions/core/production/printer-row';
import { assertQrTemplate, codeOfQrPayload, qrPayload } from '../../../functions/core/production/qr-payload';
import { reasonOf } from './reason-of';

const NUMERIC = { alphabet: 'NUMERIC_LUHN', length: 18, prefix: '6' } as const;
const LETTERS = { alphabet: 'UNAMBIGUOUS', length: 16, prefix: 'G' } as const;
const MAGSTRIPE = { serviceCode: '721' };
const TEMPLATE = 'https://gift.example.com/balance?code={code}';

describe('printer row', () => {
  it('carries code, PIN, barcode, QR and track 2 of a numeric card, each decoding back to the code', () => {
    const code = generateCode(NUMERIC);
    const row = buildPrinterRow(
      { sequence: 7, code, pin: '4821', expiresOn: '2031-06-30' },
      { magstripe: MAGSTRIPE, qrUrlTemplate: TEMPLATE },
    );
    expect(row).toMatchObject({
      sequence: 7,
      code,
      pin: '4821',
      qr: `https://gift.example.com/balance?code=${code}`,
    });
    expect(row.track2).toBe(`;${code}=3106721?`);
    expect(row.track2Bits).toHaveLength((row.track2.length + 1) * 5);
    expect(decodedCodes(row, { qrUrlTemplate: TEMPLATE })).toEqual([code, code, code, code]);
  });

  it('prints an alphanumeric card without a stripe, and refuses it a stripe without naming its code', () => {
    const code = generateCode(LETTERS);
    const row = buildPrinterRow({ sequence: 1, code }, {});
    expect(row).toMatchObject({ pin: '', qr: code, track2: '', track2Lrc: '', track2Bits: '' });
    expect(decodedCodes(row, {})).toEqual([code, code]);

    const attempt = () => buildPrinterRow({ sequence: 1, code }, { magstripe: MAGSTRIPE });
    expect(reasonOf(attempt)).toBe('TRACK2_NOT_NUMERIC');
    expect(attempt).not.toThrow(code);
  });

  it('refuses malformed cards with messages that hold no code or PIN', () => {
    const code = generateCode(NUMERIC);
    const cases = [
      { sequence: 0, code },
      { sequence: 1, code: `${code}-1` },
      { sequence: 1, code, pin: '12' },
      { sequence: 1, code, pin: 'abcd1234' },
    ];
    for (const card of cases) {
      const attempt = () => buildPrinterRow(card, {});
      expect(reasonOf(attempt)).toBe('ROW_VALUE');
      expect(attempt).not.toThrow(code);
    }
  });

  it('puts the code into a QR URL template, URL-encoded, and reads it back', () => {
    expect(qrPayload('AB12', TEMPLATE)).toBe('https://gift.example.com/balance?code=AB12');
    expect(codeOfQrPayload('https://gift.example.com/balance?code=AB12', TEMPLATE)).toBe('AB12');
    expect(qrPayload('AB12')).toBe('AB12');
    expect(reasonOf(() => codeOfQrPayload('https://other.example.com/?code=AB12', TEMPLATE))).toBe(
      'QR_PAYLOAD',
    );
  });

  it('refuses QR templates without exactly one {code} or not over https', () => {
    expect(reasonOf(() => assertQrTemplate('https://gift.example.com/'))).toBe('QR_TEMPLATE');
    expect(reasonOf(() => assertQrTemplate('https://gift.example.com/{code}/{code}'))).toBe('QR_TEMPLATE');
    expect(reasonOf(() => assertQrTemplate('http://gift.example.com/{code}'))).toBe('QR_TEMPLATE');
    expect(reasonOf(() => qrPayload('AB12', `https://gift.example.com/${'x'.repeat(200)}/{code}`))).toBe(
      'QR_PAYLOAD',
    );
  });
});
