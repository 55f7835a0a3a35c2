import { isPlausibleCode, normalizeCode } from './core/card-code';

/**
 * Redaction for every log line (the Powertools logger's JSON replacer, functions/logger.ts): nothing
 * logs request bodies or headers on purpose, and this catches what slips through anyway, e.g. in an
 * error message or a stack. Values under secret-sounding keys are dropped; in any string, API keys
 * (the key id is kept), bearer tokens, JWTs, webhook secrets and anything shaped like a card code (12-24
 * digits with a valid Luhn check digit, or 8-24 UNAMBIGUOUS symbols in any case with a valid check
 * symbol; spaces or dashes allowed) are masked.
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
  'pin',
  'currentpin',
  'newpin',
  'oldpin',
  'pepper',
  'codepepper',
  'signingkey',
  'idempotencykey',
]);

const keyName = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

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
    .replace(/\bBearer\s+\S+/gi, `Bearer ${REDACTED}`)
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
  if (SECRET_KEYS.has(name)) return REDACTED;
  if (name === 'code' && !(typeof value === 'string' && MACHINE_CODE.test(value))) return REDACTED;
  return typeof value === 'string' ? redactText(value) : value;
}
