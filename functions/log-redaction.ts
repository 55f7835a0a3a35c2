import { isPlausibleCode, normalizeCode } from './core/card-code';

/**
 * Redaction for every log line (the Powertools logger's JSON replacer, functions/logger.ts): nothing
 * logs request bodies or headers on purpose, and this catches what slips through anyway, e.g. in an
 * error message or a stack. Values under secret-sounding keys are dropped, at any depth and whatever
 * they hold (a string, an object, an array); in any string, API keys (the key id is kept), bearer and
 * ApplePass tokens, JWTs, webhook secrets, PEM private keys, secret-named fields of JSON text and
 * anything shaped like a card code (12-24 digits with a valid Luhn check digit, or 8-24 UNAMBIGUOUS
 * symbols in any case with a valid check symbol; spaces or dashes allowed) are masked.
 */
export const REDACTED = '[REDACTED]';

/** Compared lower-case without separators: `Idempotency-Key`, `idempotency_key`, `idempotencyKey`. */
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'xapikey',
  'apikey',
  'token',
  'accesstoken',
  'idtoken',
  'refreshtoken',
  'secret',
  'secrets',
  'clientsecret',
  'password',
  'passphrase',
  'privatekey',
  'credentials',
  'pin',
  'currentpin',
  'newpin',
  'oldpin',
  'pepper',
  'peppers',
  'codepepper',
  'signingkey',
  'idempotencykey',
]);

/**
 * Names ending so are secrets too, whatever comes before: pushToken, authenticationToken, apnsPrivateKey,
 * webhookSecret, googleApiKey, signingPassphrase, oldPeppers.
 */
const SECRET_SUFFIXES = [
  'token',
  'tokens',
  'secret',
  'secrets',
  'password',
  'passphrase',
  'privatekey',
  'apikey',
  'pepper',
  'peppers',
];

const keyName = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

const isSecretKey = (name: string): boolean =>
  SECRET_KEYS.has(name) || SECRET_SUFFIXES.some((suffix) => name.endsWith(suffix));

/** `"pushToken": "..."` or `"pin": 1234` inside text (a serialised body in an error message): the value goes. */
const JSON_FIELD = /"([A-Za-z0-9_-]{1,64})"(\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s",{}[\]]+)/g;
const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/** A machine code such as NOT_FOUND is no secret; a `code` with anything else in it may be a card code. */
const MACHINE_CODE = /^[A-Z][A-Z0-9_]*$/;

/**
 * The words of `run` (split at single spaces and dashes) that, alone or joined with their neighbours,
 * make a plausible code (8 to 24 symbols with a valid check symbol) are masked.
 */
function maskUnambiguousCodes(run: string): string {
  const words = run.split(/([ -])/);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 2) {
    let end = -1;
    let joined = '';
    for (let j = i; j < words.length && joined.length <= 24; j += 2) {
      joined += words[j] ?? '';
      if (joined.length >= 8 && isPlausibleCode(normalizeCode(joined))) end = j;
    }
    if (end < 0) {
      out.push(words[i] ?? '', words[i + 1] ?? '');
      continue;
    }
    out.push(`${REDACTED}(code)`, words[end + 1] ?? '');
    i = end;
  }
  return out.join('');
}

export function redactText(text: string): string {
  const masked = text
    .replace(PEM_PRIVATE_KEY, `${REDACTED}(private key)`)
    .replace(JSON_FIELD, (field, key: string, colon: string) =>
      isSecretKey(keyName(key)) ? `"${key}"${colon}"${REDACTED}"` : field,
    )
    .replace(/\b(Bearer|ApplePass)\s+\S+/gi, (_match, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(/\bgk_(key_[0-9a-z]{26}_)?[A-Za-z0-9_-]+/g, (_match, keyId: string | undefined) =>
      keyId ? `gk_${keyId}${REDACTED}` : `gk_${REDACTED}`,
    )
    .replace(/\beyJ[\w-]+\.[\w-]+(?:\.[\w-]*)?/g, `${REDACTED}(jwt)`)
    .replace(/\bwhsec_[A-Za-z0-9+/=]+/g, `whsec_${REDACTED}`)
    .replace(/(?<![\w-])\d(?:[ -]?\d)+(?![\w-])/g, (run) =>
      isPlausibleCode(run.replace(/[ -]/g, '')) ? `${REDACTED}(code)` : run,
    );
  // UNAMBIGUOUS codes (letters and digits 2-9, any case), among the words of a run.
  return masked.replace(/(?<![\w-])[2-9A-Za-z]+(?:[ -][2-9A-Za-z]+)*(?![\w-])/g, maskUnambiguousCodes);
}

/** A JSON.stringify replacer. */
export function redactForLog(key: string, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  const name = keyName(key);
  if (isSecretKey(name)) return REDACTED;
  if (name === 'code' && !(typeof value === 'string' && MACHINE_CODE.test(value))) return REDACTED;
  return typeof value === 'string' ? redactText(value) : value;
}
