/** The card write budget is a domain rule (functions/core/write-budget.ts), re-exported for the adapters. */
export { CARD_WRITE_BUDGET_MS } from './core/write-budget';

/**
 * The configuration is parsed by hand, not with zod: building a 45-field zod schema and parsing the
 * environment with it cost 15-30 ms of every cold start (bench/cold-start.ts), in every function, stream
 * consumers included. Each field is one small parser below; a wrong value names the field, never its value
 * (peppers and keys live here).
 */
const INVALID = Symbol('invalid');
type Invalid = typeof INVALID;
/** Reads one variable: its typed value, undefined when absent and optional, or INVALID. */
type Parser<T> = (raw: string | undefined) => T | Invalid;
type Check<T> = (raw: string) => T | Invalid;

const required =
  <T>(check: Check<T>): Parser<T> =>
  (raw) =>
    raw === undefined ? INVALID : check(raw);
const optional =
  <T>(check: Check<T>): Parser<T | undefined> =>
  (raw) =>
    raw === undefined ? undefined : check(raw);
const withDefault =
  <T>(check: Check<T>, fallback: string): Parser<T> =>
  (raw) =>
    check(raw ?? fallback);
const mapValid = <T, U>(value: T | Invalid, map: (value: T) => U): U | Invalid =>
  value === INVALID ? INVALID : map(value);

const text =
  (min = 1, max = Number.POSITIVE_INFINITY): Check<string> =>
  (raw) =>
    raw.length >= min && raw.length <= max ? raw : INVALID;
const matching =
  (pattern: RegExp): Check<string> =>
  (raw) =>
    pattern.test(raw) ? raw : INVALID;
/** A whole number in [min, max], written in decimal. */
const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return INVALID;
    const value = Number(raw);
    return value >= min && value <= max ? value : INVALID;
  };
/** An absolute http(s) URL. */
const url: Check<string> = (raw) => {
  if (!URL.canParse(raw)) return INVALID;
  const { protocol, hostname } = new URL(raw);
  return (protocol === 'https:' || protocol === 'http:') && hostname !== '' ? raw : INVALID;
};
const flag: Check<boolean> = (raw) => (raw === 'true' ? true : raw === 'false' ? false : INVALID);
/**
 * An IANA time zone name by its form (Area/Location, or UTC). Whether ICU knows it is checked at synth
 * (lib/config.ts), not here: the first Intl time zone lookup costs about 25 ms, in every cold start of
 * every function, and only the finance exports use the zone (a RangeError there if it is unknown).
 */
const timeZone: Check<string> = (raw) =>
  /^(?:UTC|[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2})$/.test(raw) ? raw : INVALID;

/**
 * Typed configuration, read and checked once at cold start. Nothing else reads process.env.
 * In AWS the CDK stacks set these; under `npm start` and in tests the local runtime does.
 */
const fields = {
  TABLE_NAME: required(text()),
  AWS_REGION: withDefault(text(), 'us-east-1'),
  /** Set only locally (DynamoDB Local); in AWS the SDK's regional endpoint is used. */
  DYNAMODB_ENDPOINT: optional(url),
  /**
   * Card code pepper: one value of at least 32 characters, or the JSON pepper set that rotation produces
   * (functions/store/code-peppers.ts). Locally given directly; in AWS read from Secrets Manager.
   */
  CODE_PEPPER: optional(text(32)),
  CODE_PEPPER_SECRET_ID: optional(text()),
  /** How long a warm function keeps the pepper secret before reading it again (picks up a rotation). */
  PEPPER_CACHE_SECONDS: withDefault(integer(0, 3600), '300'),
  /** Staff JWTs: issuer and audience, keys from a JWKS URL (Cognito) or an inline JWKS (local issuer). */
  STAFF_JWT_ISSUER: required(text()),
  STAFF_JWT_AUDIENCE: optional(text()),
  STAFF_JWKS_URL: optional(url),
  STAFF_JWKS_JSON: optional(text()),
  IDEMPOTENCY_TTL_SECONDS: withDefault(integer(86_400), '86400'),
  /** How long an API key and its merchant are cached in a warm function before being read again. */
  AUTH_CACHE_SECONDS: withDefault(integer(0, 300), '5'),
  /**
   * How long merchants and programs are cached in a warm function. Their changes (a merchant's
   * programs, a program's rules) reach other functions' warm instances within this time; the function
   * that made the change forgets its copy at once. Longer than the API key cache, so a request after a
   * quiet spell reads its key, not its key, merchant and program one after the other.
   */
  REFERENCE_CACHE_SECONDS: withDefault(integer(0, 600), '60'),
  /**
   * Usage plans (functions/core/usage-plans.ts): in AWS, the API Gateway usage plans are named
   * `<USAGE_PLAN_PREFIX>-<tier>` and the merchants function registers each merchant's usage key in its
   * tier's plan. Unset locally, where the local gateway enforces the plans itself.
   */
  USAGE_PLAN_PREFIX: optional(text()),
  /** The API Gateway API key value every staff token is counted under (the staff plan's key). */
  STAFF_USAGE_KEY: optional(text(20)),
  /** Region code carried in card code prefixes and ids (one deployment per region). */
  REGION_CODE: withDefault(matching(/^[0-9]$/), '1'),
  /**
   * Failed-check limits of the routes that declare one in the route table (lookups by code, PIN routes):
   * failed lookups and wrong or locked PINs in a sliding 10-minute window, per caller (each API key, staff
   * user) and per merchant (all its keys together). Over either, 429 RATE_LIMITED. Successes are never
   * limited here (volume is the API Gateway usage plans' job). A merchant or a program may override both
   * (`checkLimits`, functions/core/check-limits.ts).
   */
  FAILED_CHECKS_LIMIT_PER_CALLER: withDefault(integer(1, 100_000), '30'),
  FAILED_CHECKS_LIMIT_PER_MERCHANT: withDefault(integer(1, 100_000), '150'),
  /**
   * Fraud rule FAILED_CHECKS_KEY: more failed card lookups or PIN checks than this from one caller (API
   * key, staff user) within a 10-minute window raise an alert (or reaching the caller's failed-check
   * limit, when that is lower).
   */
  FRAUD_FAILED_CHECKS_PER_CALLER: withDefault(integer(1), '20'),
  /**
   * Apple Wallet pass certificates (functions/store/apple-certificates.ts): the JSON
   * `{ signerCert, signerKey, passphrase?, wwdr, passTypeIdentifier, teamIdentifier }`, given directly
   * under `npm start` and in tests, read from Secrets Manager in AWS (APPLE_PASS_SECRET_ID). Without
   * either, pass downloads and the PassKit web service answer 500 and say why in the log.
   */
  APPLE_PASS_CERTIFICATES: optional(text()),
  APPLE_PASS_SECRET_ID: optional(text()),
  /**
   * The API's public base URL (no trailing slash); passes carry `<it>/wallet/apple` as webServiceURL. In
   * AWS the region's custom domain (a stable name: installed passes keep it for years); https, except
   * on this machine (127.0.0.1, localhost) under `npm start` and in tests.
   */
  PUBLIC_BASE_URL: optional((raw) =>
    mapValid(url(raw), (value) => {
      const { protocol, hostname } = new URL(value);
      const local = hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
      return protocol === 'https:' || local ? value.replace(/\/+$/, '') : INVALID;
    }),
  ),
  /**
   * Lets webhooks be registered for and delivered to http(s)://127.0.0.1, ::1 or localhost. Only the
   * local runtime and the tests set it; in AWS webhook URLs must be public https.
   */
  /** Where finance exports go (the export bucket of the region); the export functions and API need it. */
  EXPORT_BUCKET_NAME: optional(text()),
  /** Set only locally (s3rver); in AWS the SDK's regional endpoint is used. */
  S3_ENDPOINT: optional(url),
  /** The KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs each export's chain root (lib/exports-stack.ts). */
  EXPORT_SIGNING_KEY_ID: optional(text()),
  /** Set only locally: the local stack's P-256 private key (PKCS#8 PEM) standing in for the KMS key. */
  EXPORT_SIGNING_KEY_PEM: optional(text()),
  /** The web apps' origin: API answers to a request from it carry Access-Control-Allow-Origin (CORS). */
  CORS_ALLOWED_ORIGIN: optional(url),
  /** The ops API lists dead-letter queues whose names start with this (the region's stacks' queues). */
  OPS_QUEUE_PREFIX: optional(text(1, 80)),
  /** Set only locally: the local stack's dead-letter files (`<consumer>.jsonl`), shown in place of SQS. */
  LOCAL_DLQ_DIR: optional(text()),
  /**
   * The export state machine (plan -> segments -> finalize) POST /v1/exports starts in AWS. Unset (npm
   * start, tests), exports run in this process with the same handlers (functions/store/export-runner.ts).
   */
  EXPORT_STATE_MACHINE_ARN: optional(text()),
  /** The region's IANA time zone: monthly exports cut off at 00:00 of the 1st in it (lib/config.ts). */
  REPORTING_TIME_ZONE: withDefault(timeZone, 'UTC'),
  /** Parallel scan segments of an export; unset, the plan derives them from the table's size. */
  EXPORT_SEGMENTS: optional(integer(1, 1000)),
  /** Items one Scan call of an export segment evaluates; unset, 2,000 (functions/store/exports.ts). */
  EXPORT_SCAN_PAGE_ITEMS: optional(integer(1, 100_000)),
  WEBHOOKS_ALLOW_HTTP_LOCALHOST: withDefault(flag, 'false'),
  /**
   * The delivery service (functions/store/message-sender.ts). E-mail goes out through SES v2 from
   * MAIL_FROM_ADDRESS (a verified identity of the region), named MAIL_FROM_NAME, in the configuration set
   * whose event destination reports deliveries, bounces and complaints. Text messages go through AWS End
   * User Messaging SMS from SMS_ORIGINATION_IDENTITY (a phone number, sender id or pool). Unset, that
   * channel is off and a send fails with DeliveryNotConfigured. The *_ENDPOINT variables are set only
   * locally: the SES and SMS stand-in (local/ses-stand-in.ts) that hands messages to the mail catcher.
   */
  MAIL_FROM_ADDRESS: optional(matching(/^[^\s@]+@[^\s@]+\.[^\s@]+$/)),
  MAIL_FROM_NAME: withDefault(matching(/^[^\r\n<>"]{1,64}$/), 'Gift cards'),
  SES_CONFIGURATION_SET: optional(matching(/^[A-Za-z0-9_-]{1,64}$/)),
  SES_ENDPOINT: optional(url),
  SMS_ORIGINATION_IDENTITY: optional(text(1, 256)),
  SMS_CONFIGURATION_SET: optional(text(1, 256)),
  SMS_ENDPOINT: optional(url),
  /**
   * Physical card production (docs/production.md): the bucket and KMS key of printer files (locally the
   * s3rver bucket; s3rver ignores the key), the worker function orders run in (unset: in this process),
   * and the cards per chunk (one file part, one progress marker).
   */
  PRINTER_FILE_BUCKET_NAME: optional(text()),
  PRINTER_FILE_KMS_KEY_ID: withDefault(text(), 'alias/aws/s3'),
  PRODUCTION_WORKER_FUNCTION_NAME: optional(text()),
  PRODUCTION_CHUNK_CARDS: withDefault(integer(1, 5_000), '5000'),
  /**
   * Wallet pushes (functions/store/apns.ts, google-wallet.ts). Credentials are JSON: given directly under
   * `npm start` and in tests (*_JSON), read from Secrets Manager in AWS (*_SECRET_ID) and kept for
   * WALLET_SECRET_CACHE_SECONDS. APNs key: `{ teamId, keyId, privateKey }` (the .p8 PEM); Google service
   * account: the key file Google gives, `{ client_email, private_key, ... }`, plus `issuerId`.
   */
  APNS_URL: withDefault(url, 'https://api.push.apple.com'),
  /**
   * How pushes authenticate to APNs: `certificate` (default, as Apple documents for pass updates: a TLS
   * client certificate, the Pass Type ID certificate that signs the passes, from the Apple pass secret)
   * or `token` (an ES256 provider token from the APNs key secret, whose team must be the certificate's).
   */
  APNS_AUTH: withDefault((raw) => (raw === 'certificate' || raw === 'token' ? raw : INVALID), 'certificate'),
  /** A CA (PEM) to trust for APNS_URL besides the system's: the local stand-in's, never set in AWS. */
  APNS_CA: optional(text()),
  APNS_KEY_JSON: optional(text()),
  APNS_KEY_SECRET_ID: optional(text()),
  GOOGLE_WALLET_API_URL: withDefault(url, 'https://walletobjects.googleapis.com'),
  GOOGLE_OAUTH_TOKEN_URL: withDefault(url, 'https://oauth2.googleapis.com/token'),
  GOOGLE_SERVICE_ACCOUNT_JSON: optional(text()),
  GOOGLE_SERVICE_ACCOUNT_SECRET_ID: optional(text()),
  /** Web origins allowed to show the Save to Google Wallet button (comma-separated). */
  GOOGLE_WALLET_ORIGINS: withDefault(
    (raw) =>
      raw
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin.length > 0),
    '',
  ),
  /**
   * How long a Save to Google Wallet link stays valid (its JWT's `exp`): made when a page or message shows
   * the button; the link names an object already inserted, so a new link is as good as the old one.
   */
  GOOGLE_SAVE_LINK_TTL_SECONDS: withDefault(integer(60, 30 * 24 * 3600), '3600'),
  /** The issuer name Google Wallet shows on every pass. */
  GOOGLE_WALLET_ISSUER_NAME: withDefault(text(1, 100), 'Gift cards'),
  WALLET_SECRET_CACHE_SECONDS: withDefault(integer(0, 3600), '300'),
  /** Attempts of one APNs or Google call within an invocation (429, 5xx, network) before the record fails. */
  WALLET_CALL_ATTEMPTS: withDefault(integer(1, 10), '3'),
  WALLET_CALL_TIMEOUT_MS: withDefault(integer(100, 30_000), '5000'),
  // E-gift delivery and bulk issuance (issue #19).
  /** The bucket of bulk batches' uploads and result files; unset, the export bucket (npm start, tests). */
  BULK_BUCKET_NAME: optional(text()),
  /** The bulk runner function the API invokes asynchronously in AWS; unset, batches run in this process. */
  BULK_RUNNER_FUNCTION_NAME: optional(text()),
  /** Where claim links point: the card-holder portal's origin; unset, PUBLIC_BASE_URL. */
  PORTAL_BASE_URL: optional(url),
};

export type Config = {
  readonly [K in keyof typeof fields]: Exclude<ReturnType<(typeof fields)[K]>, Invalid>;
};

let cached: Config | undefined;

export function config(): Config {
  if (!cached) {
    const parsed: Record<string, unknown> = {};
    const invalid: string[] = [];
    for (const [name, parse] of Object.entries(fields)) {
      const value = (parse as Parser<unknown>)(process.env[name]);
      if (value === INVALID) invalid.push(name);
      else if (value !== undefined) parsed[name] = value;
    }
    if (invalid.length > 0) throw new Error(`Invalid configuration: ${invalid.join(', ')}`);
    const checked = parsed as Config;
    if (!checked.CODE_PEPPER && !checked.CODE_PEPPER_SECRET_ID) {
      throw new Error('Invalid configuration: CODE_PEPPER or CODE_PEPPER_SECRET_ID is required');
    }
    if (!checked.STAFF_JWKS_URL && !checked.STAFF_JWKS_JSON) {
      throw new Error('Invalid configuration: STAFF_JWKS_URL or STAFF_JWKS_JSON is required');
    }
    cached = checked;
  }
  return cached;
}

/** Tests and the local runtime change the environment between runs; this forgets the parsed copy. */
export function resetConfigForTests(): void {
  cached = undefined;
}
