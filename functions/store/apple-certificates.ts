import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config';
import { traced } from '../observability/tracer';

/**
 * The Apple Wallet signing material: the Pass Type ID certificate and key, Apple's WWDR intermediate
 * (G4), and the identifiers the passes carry. One Secrets Manager secret holding JSON in AWS
 * (APPLE_PASS_SECRET_ID, readable by the wallet function only); the same JSON directly in
 * APPLE_PASS_CERTIFICATES under `npm start` (generated test CA, under .local/) and in tests.
 */
export interface AppleCertificates {
  readonly signerCert: string;
  readonly signerKey: string;
  readonly passphrase?: string;
  readonly wwdr: string;
  readonly passTypeIdentifier: string;
  readonly teamIdentifier: string;
}

const pem = (kind: string) =>
  new RegExp(`-----BEGIN [A-Z ]*${kind}-----[\\s\\S]+-----END [A-Z ]*${kind}-----`);

/**
 * Each field's rule, checked by hand rather than with zod: the wallet function's cold start then never
 * evaluates zod (about 26 ms of CPU), and six string fields need no schema library.
 */
const CERTIFICATE_FIELDS: Readonly<Record<keyof AppleCertificates, { pattern: RegExp; optional?: true }>> = {
  signerCert: { pattern: pem('CERTIFICATE') },
  signerKey: { pattern: pem('KEY') },
  passphrase: { pattern: /^[\s\S]+$/, optional: true },
  wwdr: { pattern: pem('CERTIFICATE') },
  passTypeIdentifier: { pattern: /^pass\.[A-Za-z0-9.-]{1,200}$/ },
  teamIdentifier: { pattern: /^[A-Z0-9]{10}$/ },
};

/** Parses the secret; a broken one names the bad fields, never their values. */
export function parseAppleCertificates(raw: string | undefined): AppleCertificates {
  let json: unknown;
  try {
    json = JSON.parse(raw ?? '');
  } catch {
    throw new Error('Apple pass certificates: the secret is not JSON');
  }
  if (typeof json === 'object' && json !== null && 'placeholder' in json) {
    throw new Error(
      'Apple pass certificates: the secret still holds the placeholder; put the certificates in it',
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('Apple pass certificates: invalid (root)');
  }
  const fields = json as Readonly<Record<string, unknown>>;
  const invalid = Object.entries(CERTIFICATE_FIELDS).flatMap(([name, rule]) => {
    const value = fields[name];
    if (value === undefined && rule.optional) return [];
    return typeof value === 'string' && rule.pattern.test(value) ? [] : [name];
  });
  if (invalid.length > 0) throw new Error(`Apple pass certificates: invalid ${invalid.join(', ')}`);
  // Every field was checked above to be a string (passphrase: or absent); only these are kept.
  const text = (name: keyof AppleCertificates) => fields[name] as string;
  return {
    signerCert: text('signerCert'),
    signerKey: text('signerKey'),
    ...(fields.passphrase === undefined ? {} : { passphrase: text('passphrase') }),
    wwdr: text('wwdr'),
    passTypeIdentifier: text('passTypeIdentifier'),
    teamIdentifier: text('teamIdentifier'),
  };
}

/** Certificates are renewed yearly by hand: a warm function reads the secret again after this. */
const CACHE_MS = 15 * 60 * 1000;

let cached: { promise: Promise<AppleCertificates>; until: number } | undefined;
let client: SecretsManagerClient | undefined;

export function appleCertificates(): Promise<AppleCertificates> {
  const now = Date.now();
  if (cached && now < cached.until) return cached.promise;
  const { APPLE_PASS_CERTIFICATES, APPLE_PASS_SECRET_ID, AWS_REGION } = config();
  let promise: Promise<AppleCertificates>;
  if (APPLE_PASS_CERTIFICATES) {
    promise = Promise.resolve().then(() => parseAppleCertificates(APPLE_PASS_CERTIFICATES));
  } else if (APPLE_PASS_SECRET_ID) {
    client ??= traced(new SecretsManagerClient({ region: AWS_REGION }));
    promise = client
      .send(new GetSecretValueCommand({ SecretId: APPLE_PASS_SECRET_ID }))
      .then((out) => parseAppleCertificates(out.SecretString));
  } else {
    promise = Promise.reject(
      new Error(
        'Apple Wallet passes are not configured: set APPLE_PASS_SECRET_ID or APPLE_PASS_CERTIFICATES',
      ),
    );
  }
  const entry = { promise, until: now + CACHE_MS };
  cached = entry;
  // A failed read is not kept: the next request tries again.
  promise.catch(() => {
    if (cached === entry) cached = undefined;
  });
  return promise;
}

/**
 * The certificates, or undefined when this deployment has none (nothing configured, or the secret still
 * holds the stack's placeholder): wallet-sync then skips Apple pushes instead of failing every record.
 * A secret that is there but broken still throws.
 */
export async function appleCertificatesIfConfigured(): Promise<AppleCertificates | undefined> {
  const { APPLE_PASS_CERTIFICATES, APPLE_PASS_SECRET_ID } = config();
  if (!APPLE_PASS_CERTIFICATES && !APPLE_PASS_SECRET_ID) return undefined;
  try {
    return await appleCertificates();
  } catch (error) {
    if (/placeholder/.test((error as Error).message)) return undefined;
    throw error;
  }
}

export function resetAppleCertificatesForTests(): void {
  cached = undefined;
  client = undefined;
}
