import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { config } from '../config';
import { traced } from '../observability/tracer';

/**
 * Credentials of the wallet push channels: the APNs token-signing key and the Google service account.
 * Given directly under `npm start` and in tests (APNS_KEY_JSON, GOOGLE_SERVICE_ACCOUNT_JSON), read from
 * Secrets Manager in AWS (*_SECRET_ID) and kept WALLET_SECRET_CACHE_SECONDS, so a replaced key reaches
 * warm functions. Neither configured, or a secret still holding the stack's placeholder: `undefined`,
 * and that channel is simply off. A value that is there but malformed is an error (never quoted).
 */

const apnsKeySchema = z.object({
  teamId: z.string().regex(/^[A-Z0-9]{10}$/),
  keyId: z.string().regex(/^[A-Z0-9]{10}$/),
  /** The .p8 file's PEM (PKCS#8, EC P-256). */
  privateKey: z.string().includes('PRIVATE KEY'),
});
export type ApnsKey = z.infer<typeof apnsKeySchema>;

const googleServiceAccountSchema = z.object({
  client_email: z.string().min(3),
  private_key: z.string().includes('PRIVATE KEY'),
  /** The Google Wallet issuer id (Pay & Wallet console), prefix of every class and object id. */
  issuerId: z.string().regex(/^\d{1,25}$/),
});
export type GoogleServiceAccount = z.infer<typeof googleServiceAccountSchema>;

interface Cached<T> {
  readonly until: number;
  readonly promise: Promise<T | undefined>;
}

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Cached<unknown>>();

function parse<T>(name: string, schema: z.ZodType<T>, raw: string | undefined): T | undefined {
  if (raw === undefined || raw.trim() === '' || raw.trim() === '{}') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not JSON`);
  }
  // The stack's placeholder until an operator puts the real value.
  if (typeof json === 'object' && json !== null && 'placeholder' in json) return undefined;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`${name} is missing or has invalid fields: ${fields}`);
  }
  return parsed.data;
}

function load<T>(
  name: string,
  schema: z.ZodType<T>,
  inline: string | undefined,
  secretId: string | undefined,
): Promise<T | undefined> {
  const now = Date.now();
  const hit = cache.get(name) as Cached<T> | undefined;
  if (hit && now < hit.until) return hit.promise;
  const { AWS_REGION, WALLET_SECRET_CACHE_SECONDS } = config();
  let promise: Promise<T | undefined>;
  let until = now + WALLET_SECRET_CACHE_SECONDS * 1000;
  if (inline !== undefined || secretId === undefined) {
    // The environment cannot change under a running function: parsed once.
    until = Number.POSITIVE_INFINITY;
    promise = (async () => parse(name, schema, inline))();
  } else {
    client ??= traced(new SecretsManagerClient({ region: AWS_REGION }));
    promise = client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((out) => parse(name, schema, out.SecretString));
  }
  const entry: Cached<T> = { until, promise };
  cache.set(name, entry);
  // A failed read is tried again on the next call.
  promise.catch(() => {
    if (cache.get(name) === entry) cache.delete(name);
  });
  return promise;
}

export function apnsKey(): Promise<ApnsKey | undefined> {
  const { APNS_KEY_JSON, APNS_KEY_SECRET_ID } = config();
  return load('APNs key', apnsKeySchema, APNS_KEY_JSON, APNS_KEY_SECRET_ID);
}

export function googleServiceAccount(): Promise<GoogleServiceAccount | undefined> {
  const { GOOGLE_SERVICE_ACCOUNT_JSON, GOOGLE_SERVICE_ACCOUNT_SECRET_ID } = config();
  return load(
    'Google service account',
    googleServiceAccountSchema,
    GOOGLE_SERVICE_ACCOUNT_JSON,
    GOOGLE_SERVICE_ACCOUNT_SECRET_ID,
  );
}

export function resetPushCredentialsForTests(): void {
  cache.clear();
  client = undefined;
}
