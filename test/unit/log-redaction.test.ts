import { afterEach, describe, expect, it } from 'vitest';
import { generateCode } from '../../functions/core/card-code';
import { REDACTED, redactForLog, redactText } from '../../functions/log-redaction';
import { logger } from '../../functions/logger';

const code = generateCode({ length: 16, prefix: '' });
const keyId = `key_${'a1'.repeat(13)}`;
const apiKey = `gk_${keyId}_${'x9'.repeat(26)}`;
const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzdGFmZi0xIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const webhookSecret = 'whsec_dGhpcyBpcyBhIHdlYmhvb2sgc2VjcmV0IDMyIGJ5dGVz+/0=';

describe('redactText', () => {
  it('masks API keys but keeps the key id', () => {
    expect(redactText(`key ${apiKey} refused`)).toBe(`key gk_${keyId}_${REDACTED} refused`);
    expect(redactText('gk_not-even-well-formed')).toBe(`gk_${REDACTED}`);
  });

  it('masks bearer tokens, JWTs and webhook secrets', () => {
    expect(redactText(`Authorization: Bearer ${jwt}`)).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactText(`token=${jwt}`)).toBe(`token=${REDACTED}(jwt)`);
    expect(redactText(`secret ${webhookSecret}.`)).not.toContain('dGhpcyBp');
  });

  it('masks ApplePass tokens like bearer tokens, in any case', () => {
    const passToken = 'Zk3xQ9vR2mT8wLp4Hs7nYc1Bd6Fg0Jq5';
    expect(redactText(`Authorization: ApplePass ${passToken}`)).toBe(`Authorization: ApplePass ${REDACTED}`);
    expect(redactText(`header applepass ${passToken} refused`)).toBe(`header applepass ${REDACTED} refused`);
    expect(redactText(`ApplePass\t${passToken}`)).not.toContain(passToken);
  });

  it('masks secret-named fields of JSON text and PEM private keys', () => {
    const body = JSON.stringify({
      pushToken: 'a1b2c3d4e5f6a7b8c9d0',
      pin: 4321,
      note: 'kept',
      privateKey: 'k',
    });
    expect(redactText(`could not parse ${body}`)).toBe(
      `could not parse {"pushToken":"${REDACTED}","pin":"${REDACTED}","note":"kept","privateKey":"${REDACTED}"}`,
    );
    expect(redactText('{"password" : "p\\"w"}')).toBe(`{"password" : "${REDACTED}"}`);
    const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----';
    expect(redactText(`key ${pem} loaded`)).toBe(`key ${REDACTED}(private key) loaded`);
    expect(redactText('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx (cut)')).toBe(`${REDACTED}(private key)`);
  });

  it('masks card codes, contiguous, spaced or dashed', () => {
    const spaced = code.replace(/(\d{4})(?=\d)/g, '$1 ');
    const dashed = code.replace(/(\d{4})(?=\d)/g, '$1-');
    for (const form of [code, spaced, dashed]) {
      const redacted = redactText(`lookup of ${form} failed`);
      expect(redacted).toBe(`lookup of ${REDACTED}(code) failed`);
    }
  });

  it('masks UNAMBIGUOUS codes in any case, spaced or dashed, also under `code`', () => {
    const letters = generateCode({ alphabet: 'UNAMBIGUOUS', length: 13, prefix: 'B' });
    const forms = [
      letters,
      letters.toLowerCase(),
      `${letters.slice(0, 4)}-${letters.slice(4, 8)} ${letters.slice(8)}`,
    ];
    for (const form of forms) {
      expect(redactText(`lookup of ${form} failed`)).toBe(`lookup of ${REDACTED}(code) failed`);
      expect(JSON.stringify({ code: form }, redactForLog)).not.toContain(form);
    }
    const wrongCheck = letters.slice(0, -1) + (letters.endsWith('2') ? '3' : '2');
    expect(redactText(`lookup of ${wrongCheck} failed`)).toBe(`lookup of ${wrongCheck} failed`);
    expect(redactForLog('code', 'VALIDATION_FAILED')).toBe('VALIDATION_FAILED');
  });

  it('leaves what is no secret alone: ids, times, short or non-Luhn numbers', () => {
    const notLuhn = `${code.slice(0, -1)}${(Number(code.slice(-1)) + 1) % 10}`;
    for (const text of [
      'f9de949d-e8c3-4614-9102-206baa884a91',
      '2026-11-25T23:26:39.889Z',
      'node:buffer:322',
      `gc_${'2'.repeat(26)}`,
      notLuhn,
      'amount 2500 of 1000000',
      'INSUFFICIENT_FUNDS',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });
});

describe('redactForLog (the JSON replacer)', () => {
  it('drops values under secret-named keys, however they are spelled', () => {
    for (const key of [
      'authorization',
      'Authorization',
      'Idempotency-Key',
      'idempotencyKey',
      'pin',
      'newPin',
      'apiKey',
      'x-api-key',
      'secret',
      'token',
      'privateKey',
      'PRIVATE_KEY',
      'passphrase',
      'pushToken',
      'authenticationToken',
      'peppers',
      'pepper',
      'secrets',
      'password',
      'Password',
      'APIKEY',
      'api_key',
      'TOKEN',
      'webhookSecret',
      'apnsPrivateKey',
    ]) {
      expect(redactForLog(key, 'anything'), key).toBe(REDACTED);
      expect(redactForLog(key, { v1: 'a', v2: 'b' }), key).toBe(REDACTED);
      expect(redactForLog(key, ['a', 'b']), key).toBe(REDACTED);
    }
    for (const [key, value] of [
      ['pinPolicy', 'ALWAYS'],
      ['keyId', 'key_123'],
      ['apiKeyId', 'key_123'],
      ['passTypeIdentifier', 'pass.example'],
      ['tokenType', 'Bearer'],
    ]) {
      expect(redactForLog(key as string, value), key).toBe(value);
    }
  });

  it('redacts secrets at any depth of a logged object, inside arrays too', () => {
    const logged = {
      wallet: {
        registrations: [{ deviceLibraryIdentifier: 'dev-1', pushToken: 'f00dbabe'.repeat(4) }],
        signer: { privateKey: 'MIGHAgEAMBMG', passphrase: 'open sesame', certificate: 'public' },
      },
      pepperSet: { current: 'v2', peppers: { v1: 'old-pepper-value', v2: 'new-pepper-value' } },
      headers: [{ Authorization: 'ApplePass s3cr3tpasstoken' }],
      nested: { deeper: { Secret: 'x-secret', API_KEY: 'x-api', Token: 'x-token', password: 'x-pass' } },
    };
    const output = JSON.stringify(logged, redactForLog);
    for (const leaked of [
      'f00dbabe',
      'MIGHAgEAMBMG',
      'open sesame',
      'old-pepper-value',
      'new-pepper-value',
      's3cr3tpasstoken',
      'x-secret',
      'x-api',
      'x-token',
      'x-pass',
    ]) {
      expect(output).not.toContain(leaked);
    }
    for (const kept of ['dev-1', 'public', '"current":"v2"']) expect(output).toContain(kept);
  });

  it('keeps machine error codes but not other values under `code`', () => {
    expect(redactForLog('code', 'NOT_FOUND')).toBe('NOT_FOUND');
    expect(redactForLog('code', '1234')).toBe(REDACTED);
    expect(redactForLog('code', 1234)).toBe(REDACTED);
  });

  it('masks inside any string and leaves other values as they are', () => {
    expect(redactForLog('message', `bad ${apiKey}`)).toBe(`bad gk_${keyId}_${REDACTED}`);
    expect(redactForLog('amount', 2500)).toBe(2500);
    expect(redactForLog('', { a: 1 })).toEqual({ a: 1 });
  });
});

describe('the logger', () => {
  const originals = { out: process.stdout.write, err: process.stderr.write };
  afterEach(() => {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
  });

  it('redacts every line it writes, error messages and stacks included', () => {
    const written: string[] = [];
    const capture = ((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
    logger.error('Something failed', {
      error: new Error(`could not use ${apiKey} for card ${code}`),
      headers: { Authorization: `Bearer ${jwt}`, 'Idempotency-Key': 'idem-123-secret' },
      body: { code, pin: '4321' },
      note: `webhook secret ${webhookSecret}`,
    });
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
    const output = written.join('');
    expect(output).toContain('Something failed');
    expect(output).toContain(keyId);
    for (const leaked of [apiKey, 'x9x9x9', jwt, code, '4321', 'idem-123-secret', webhookSecret]) {
      expect(output).not.toContain(leaked);
    }
  });
});
