import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config';
import { traced } from '../observability/tracer';
import { type CodePeppers, parseCodePeppers } from './code-peppers';

export type { CodePeppers, Pepper } from './code-peppers';

/** After a failed refresh, a warm function keeps the peppers it has and tries again this much later. */
const RETRY_AFTER_FAILURE_MS = 10_000;

interface Cached {
  promise: Promise<CodePeppers>;
  until: number;
  /** The set this entry resolved to, once it did. */
  loaded?: CodePeppers;
}

let cached: Cached | undefined;
let client: SecretsManagerClient | undefined;

/**
 * The card-code pepper set (functions/store/code-peppers.ts): given directly under `npm start` and in
 * tests (CODE_PEPPER), read from Secrets Manager in AWS (CODE_PEPPER_SECRET_ID) at cold start and again
 * every PEPPER_CACHE_SECONDS, so a rotation reaches warm functions within that time. A failed refresh
 * keeps the set already in hand; a failed first read fails the request and is retried on the next.
 */
export function codePeppers(): Promise<CodePeppers> {
  const now = Date.now();
  if (cached && now < cached.until) return cached.promise;
  const { CODE_PEPPER, CODE_PEPPER_SECRET_ID, AWS_REGION, PEPPER_CACHE_SECONDS } = config();
  if (CODE_PEPPER) {
    // The environment cannot change under a running function: parsed once.
    let peppers: CodePeppers;
    try {
      peppers = parseCodePeppers(CODE_PEPPER);
    } catch (error) {
      return Promise.reject(error);
    }
    cached = { promise: Promise.resolve(peppers), until: Number.POSITIVE_INFINITY, loaded: peppers };
    return cached.promise;
  }
  const previous = cached?.loaded;
  client ??= traced(new SecretsManagerClient({ region: AWS_REGION }));
  const loading = client
    .send(new GetSecretValueCommand({ SecretId: CODE_PEPPER_SECRET_ID }))
    .then((out) => parseCodePeppers(out.SecretString));
  const entry: Cached = {
    until: now + PEPPER_CACHE_SECONDS * 1000,
    promise: loading.then(
      (peppers) => {
        entry.loaded = peppers;
        return peppers;
      },
      (error: unknown) => {
        if (!previous) {
          if (cached === entry) cached = undefined;
          throw error;
        }
        entry.loaded = previous;
        entry.until = Date.now() + RETRY_AFTER_FAILURE_MS;
        return previous;
      },
    ),
  };
  cached = entry;
  return entry.promise;
}

/** The key material of a sealed-record key: fixed across rotations (see code-peppers.ts). */
export async function sealingPepper(): Promise<string> {
  return (await codePeppers()).sealing;
}

export function resetSecretsForTests(): void {
  cached = undefined;
  client = undefined;
}
