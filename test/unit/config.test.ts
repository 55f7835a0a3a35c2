import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { config, resetConfigForTests } from '../../functions/config';

/** The least a function needs: a table, a pepper and the staff token keys. */
const MINIMAL = {
  TABLE_NAME: 'giftcards',
  CODE_PEPPER: 'p'.repeat(32),
  STAFF_JWT_ISSUER: 'https://issuer.example',
  STAFF_JWKS_JSON: '{"keys":[]}',
};

let saved: NodeJS.ProcessEnv;
beforeEach(() => {
  saved = process.env;
  process.env = { ...MINIMAL };
  resetConfigForTests();
});
afterEach(() => {
  process.env = saved;
  resetConfigForTests();
});

/** The error message config() throws for this environment ('' when it parses). */
function problemWith(env: Record<string, string>): string {
  process.env = { ...MINIMAL, ...env };
  resetConfigForTests();
  try {
    config();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('config(): the environment, parsed once per cold start', () => {
  it('fills every default when only the required variables are set', () => {
    const parsed = config();
    expect(parsed).toMatchObject({
      TABLE_NAME: 'giftcards',
      AWS_REGION: 'us-east-1',
      PEPPER_CACHE_SECONDS: 300,
      IDEMPOTENCY_TTL_SECONDS: 86_400,
      AUTH_CACHE_SECONDS: 5,
      REFERENCE_CACHE_SECONDS: 60,
      REGION_CODE: '1',
      FAILED_CHECKS_LIMIT_PER_CALLER: 30,
      FAILED_CHECKS_LIMIT_PER_MERCHANT: 150,
      FRAUD_FAILED_CHECKS_PER_CALLER: 20,
      REPORTING_TIME_ZONE: 'UTC',
      WEBHOOKS_ALLOW_HTTP_LOCALHOST: false,
      APNS_URL: 'https://api.push.apple.com',
      GOOGLE_WALLET_API_URL: 'https://walletobjects.googleapis.com',
      GOOGLE_OAUTH_TOKEN_URL: 'https://oauth2.googleapis.com/token',
      GOOGLE_WALLET_ORIGINS: [],
      GOOGLE_WALLET_ISSUER_NAME: 'Gift cards',
      WALLET_SECRET_CACHE_SECONDS: 300,
      WALLET_CALL_ATTEMPTS: 3,
      WALLET_CALL_TIMEOUT_MS: 5_000,
    });
    // Optional variables that are absent stay absent, not empty.
    expect('DYNAMODB_ENDPOINT' in parsed).toBe(false);
    expect('EXPORT_SEGMENTS' in parsed).toBe(false);
    expect(parsed.PUBLIC_BASE_URL).toBeUndefined();
  });

  it('reads numbers, flags, lists and URLs into their types', () => {
    process.env = {
      ...MINIMAL,
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      AUTH_CACHE_SECONDS: '0',
      EXPORT_SEGMENTS: '44',
      WEBHOOKS_ALLOW_HTTP_LOCALHOST: 'true',
      GOOGLE_WALLET_ORIGINS: ' https://shop.example , ,https://other.example',
      PUBLIC_BASE_URL: 'https://api.example/prod//',
      REPORTING_TIME_ZONE: 'Europe/Berlin',
      REGION_CODE: '7',
    };
    const parsed = config();
    expect(parsed.DYNAMODB_ENDPOINT).toBe('http://127.0.0.1:8000');
    expect(parsed.AUTH_CACHE_SECONDS).toBe(0);
    expect(parsed.EXPORT_SEGMENTS).toBe(44);
    expect(parsed.WEBHOOKS_ALLOW_HTTP_LOCALHOST).toBe(true);
    expect(parsed.GOOGLE_WALLET_ORIGINS).toEqual(['https://shop.example', 'https://other.example']);
    expect(parsed.PUBLIC_BASE_URL).toBe('https://api.example/prod');
    expect(parsed.REPORTING_TIME_ZONE).toBe('Europe/Berlin');
    expect(parsed.REGION_CODE).toBe('7');
  });

  it('is read once: a later change of the environment needs a reset', () => {
    expect(config().AUTH_CACHE_SECONDS).toBe(5);
    process.env.AUTH_CACHE_SECONDS = '9';
    expect(config().AUTH_CACHE_SECONDS).toBe(5);
    resetConfigForTests();
    expect(config().AUTH_CACHE_SECONDS).toBe(9);
  });

  it('refuses wrong values, naming every wrong variable and never its value', () => {
    const secret = 'short-pepper';
    const message = problemWith({
      CODE_PEPPER: secret,
      AUTH_CACHE_SECONDS: '301',
      EXPORT_SEGMENTS: '1.5',
      IDEMPOTENCY_TTL_SECONDS: '3600',
      WEBHOOKS_ALLOW_HTTP_LOCALHOST: 'yes',
      REPORTING_TIME_ZONE: 'Europe/Berlin; drop',
      REGION_CODE: '12',
      DYNAMODB_ENDPOINT: 'localhost:8000',
    });
    expect(message.startsWith('Invalid configuration: ')).toBe(true);
    const named = message.replace('Invalid configuration: ', '').split(', ').sort();
    expect(named).toEqual(
      [
        'AUTH_CACHE_SECONDS',
        'CODE_PEPPER',
        'DYNAMODB_ENDPOINT',
        'EXPORT_SEGMENTS',
        'IDEMPOTENCY_TTL_SECONDS',
        'REGION_CODE',
        'REPORTING_TIME_ZONE',
        'WEBHOOKS_ALLOW_HTTP_LOCALHOST',
      ].sort(),
    );
    expect(message).not.toContain(secret);
  });

  it.each([
    ['a missing table name', { TABLE_NAME: '' }, 'TABLE_NAME'],
    ['an empty number', { AUTH_CACHE_SECONDS: '' }, 'AUTH_CACHE_SECONDS'],
    ['a number with words', { PEPPER_CACHE_SECONDS: '300s' }, 'PEPPER_CACHE_SECONDS'],
    ['a negative cache time', { REFERENCE_CACHE_SECONDS: '-1' }, 'REFERENCE_CACHE_SECONDS'],
    ['a URL without http(s)', { APNS_URL: 'ftp://push.example' }, 'APNS_URL'],
    ['text that is no URL', { STAFF_JWKS_URL: 'not a url' }, 'STAFF_JWKS_URL'],
    ['a time zone that is no IANA name', { REPORTING_TIME_ZONE: '../Europe' }, 'REPORTING_TIME_ZONE'],
    ['a too short staff usage key', { STAFF_USAGE_KEY: 'x'.repeat(19) }, 'STAFF_USAGE_KEY'],
    ['a too long issuer name', { GOOGLE_WALLET_ISSUER_NAME: 'n'.repeat(101) }, 'GOOGLE_WALLET_ISSUER_NAME'],
    ['zero wallet attempts', { WALLET_CALL_ATTEMPTS: '0' }, 'WALLET_CALL_ATTEMPTS'],
  ])('refuses %s', (_case, env, field) => {
    expect(problemWith(env)).toBe(`Invalid configuration: ${field}`);
  });

  it('needs a pepper (or its secret) and staff token keys (inline or by URL)', () => {
    process.env = { ...MINIMAL };
    delete process.env.CODE_PEPPER;
    resetConfigForTests();
    expect(() => config()).toThrow('CODE_PEPPER or CODE_PEPPER_SECRET_ID is required');

    process.env = { ...MINIMAL, CODE_PEPPER_SECRET_ID: 'giftcards/pepper' };
    delete process.env.CODE_PEPPER;
    delete process.env.STAFF_JWKS_JSON;
    resetConfigForTests();
    expect(() => config()).toThrow('STAFF_JWKS_URL or STAFF_JWKS_JSON is required');

    process.env.STAFF_JWKS_URL = 'https://cognito.example/.well-known/jwks.json';
    resetConfigForTests();
    expect(config().CODE_PEPPER_SECRET_ID).toBe('giftcards/pepper');
  });
});
