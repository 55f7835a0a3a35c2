import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfigForTests } from '../../functions/config';
import { PepperSecretError, parseCodePeppers } from '../../functions/store/code-peppers';
import { codePeppers, resetSecretsForTests, sealingPepper } from '../../functions/store/secrets';

const A = `plain-pepper-one-${'a'.repeat(32)}`;
const B = 'b'.repeat(40);
const C = 'c'.repeat(64);

const ids = (secret: string) => parseCodePeppers(secret).lookupOrder.map((pepper) => pepper.id);

/** The message of what parsing throws ('' when it does not). */
function problemWith(secret: string | undefined): string {
  try {
    parseCodePeppers(secret);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(PepperSecretError);
    return (error as Error).message;
  }
}

describe('parseCodePeppers: the pepper secret', () => {
  it('reads a plain string as the one pepper v1, which also seals', () => {
    const peppers = parseCodePeppers(A);
    expect(peppers.current).toEqual({ id: 'v1', value: A });
    expect(peppers.lookupOrder).toEqual([{ id: 'v1', value: A }]);
    expect(peppers.sealing).toBe(A);
  });

  it('reads the JSON set: current first, then the others newest listed first; v1 seals by default', () => {
    const secret = JSON.stringify({ current: 'v3', peppers: { v1: A, v2: B, v3: C } });
    const peppers = parseCodePeppers(secret);
    expect(peppers.current).toEqual({ id: 'v3', value: C });
    expect(ids(secret)).toEqual(['v3', 'v2', 'v1']);
    expect(peppers.sealing).toBe(A);
    expect(ids(JSON.stringify({ current: 'v1', peppers: { v1: A, v2: B } }))).toEqual(['v1', 'v2']);
    expect(ids(` \n${JSON.stringify({ current: 'v2', peppers: { v1: A, v2: B } })}`)).toEqual(['v2', 'v1']);
  });

  it('lets the set name its sealing pepper (needed when there is no v1)', () => {
    const named = JSON.stringify({ current: 'k2', peppers: { k1: A, k2: B }, sealing: 'k1' });
    expect(parseCodePeppers(named).sealing).toBe(A);
    expect(problemWith(JSON.stringify({ current: 'k2', peppers: { k1: A, k2: B } }))).toContain('"sealing"');
    expect(problemWith(JSON.stringify({ current: 'v1', peppers: { v1: A }, sealing: 'v9' }))).toContain('v9');
  });

  it('refuses broken secrets without quoting any pepper value', () => {
    const broken = [
      undefined,
      '',
      'short',
      '{"current": "v2", "peppers": ',
      '{',
      JSON.stringify([A]),
      JSON.stringify({ current: 'v2', peppers: { v1: A } }),
      JSON.stringify({ current: 'v1', peppers: {} }),
      JSON.stringify({ current: 'v1', peppers: { v1: 'short' } }),
      JSON.stringify({ current: 'v1', peppers: { v1: 42 } }),
      JSON.stringify({ current: 'v1', peppers: { 'v 1': A } }),
      JSON.stringify({ current: 1, peppers: { v1: A } }),
      JSON.stringify({ current: 'v1', peppers: { v1: A }, previous: 'v0' }),
      JSON.stringify({
        current: 'v1',
        peppers: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`v${i + 1}`, A])),
      }),
    ];
    for (const secret of broken) {
      const problem = problemWith(secret);
      expect(problem, String(secret)).toMatch(/^The code pepper secret is invalid: /);
      for (const value of [A, B, C]) expect(problem).not.toContain(value.slice(0, 16));
    }
  });
});

describe('codePeppers: the Secrets Manager secret in AWS (mocked)', () => {
  const secrets = mockClient(SecretsManagerClient);
  const saved = { ...process.env };
  let secretValue: string | undefined = A;
  let failNext = false;

  beforeAll(() => {
    secrets.on(GetSecretValueCommand).callsFake(async () => {
      if (failNext) {
        failNext = false;
        throw new Error('throttled');
      }
      return { SecretString: secretValue };
    });
    Object.assign(process.env, {
      TABLE_NAME: 'unused',
      STAFF_JWT_ISSUER: 'https://issuer.example.com',
      STAFF_JWKS_URL: 'https://issuer.example.com/jwks.json',
      CODE_PEPPER_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pepper',
    });
    delete process.env.CODE_PEPPER;
    delete process.env.PEPPER_CACHE_SECONDS;
  });
  afterEach(() => {
    vi.useRealTimers();
    secrets.resetHistory();
    resetSecretsForTests();
    resetConfigForTests();
  });
  afterAll(() => {
    secrets.restore();
    process.env = saved;
    resetConfigForTests();
  });

  it('asks for the configured secret, once per cold start and again after 5 minutes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-03-15T12:00:00Z'));
    secretValue = A;
    expect((await codePeppers()).current).toEqual({ id: 'v1', value: A });
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pepper',
    });

    // Rotated in Secrets Manager: a warm function keeps its set until the cache time is up.
    secretValue = JSON.stringify({ current: 'v2', peppers: { v1: A, v2: B } });
    vi.setSystemTime(new Date('2025-03-15T12:04:59Z'));
    expect((await codePeppers()).current.id).toBe('v1');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    vi.setSystemTime(new Date('2025-03-15T12:05:00Z'));
    const rotated = await codePeppers();
    expect(rotated.current).toEqual({ id: 'v2', value: B });
    expect(rotated.lookupOrder.map((pepper) => pepper.id)).toEqual(['v2', 'v1']);
    expect(await sealingPepper()).toBe(A);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one read among parallel callers', async () => {
    secretValue = A;
    const all = await Promise.all(Array.from({ length: 20 }, () => codePeppers()));
    expect(new Set(all.map((peppers) => peppers.current.value))).toEqual(new Set([A]));
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('keeps serving the set it has when a refresh fails, and tries again later', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-03-15T12:00:00Z'));
    secretValue = A;
    await codePeppers();
    failNext = true;
    vi.setSystemTime(new Date('2025-03-15T12:06:00Z'));
    expect((await codePeppers()).current.value).toBe(A);
    vi.setSystemTime(new Date('2025-03-15T12:06:05Z'));
    await codePeppers();
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    vi.setSystemTime(new Date('2025-03-15T12:06:11Z'));
    secretValue = JSON.stringify({ current: 'v2', peppers: { v1: A, v2: C } });
    expect((await codePeppers()).current.id).toBe('v2');
  });

  it('fails (and retries on the next call) when the first read fails or the secret is broken', async () => {
    secretValue = 'too short';
    await expect(codePeppers()).rejects.toThrow(PepperSecretError);
    secretValue = undefined;
    await expect(codePeppers()).rejects.toThrow('it is empty');
    secretValue = JSON.stringify({ current: 'v1', peppers: { v1: A } });
    expect((await codePeppers()).current.value).toBe(A);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('uses CODE_PEPPER when it is set (the local runtime and the tests) and never calls AWS', async () => {
    process.env.CODE_PEPPER = JSON.stringify({ current: 'v2', peppers: { v1: A, v2: B } });
    resetConfigForTests();
    try {
      expect((await codePeppers()).current.id).toBe('v2');
      expect(await sealingPepper()).toBe(A);
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    } finally {
      delete process.env.CODE_PEPPER;
    }
  });
});
