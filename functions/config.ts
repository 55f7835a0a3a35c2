import * as z from 'zod';

/**
 * How long a change keeps trying on a busy card before answering CONFLICT (the caller may retry with the
 * same Idempotency-Key). Well inside the API function's timeout. No attempt to write a ledger entry
 * starts later than this after the change began, which bounds how long after its `createdAt` an entry
 * can still commit: finance exports wait that out past their cutoff (functions/core/export-period.ts).
 */
export const CARD_WRITE_BUDGET_MS = 8_000;

/**
 * Typed configuration, read and checked once at cold start. Nothing else reads process.env.
 * In AWS the CDK stacks set these; under `npm start` and in tests the local runtime does.
 */
const schema = z.object({
  TABLE_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Set only locally (DynamoDB Local); in AWS the SDK's regional endpoint is used. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  /**
   * Card code pepper: one value of at least 32 characters, or the JSON pepper set that rotation produces
   * (functions/store/code-peppers.ts). Locally given directly; in AWS read from Secrets Manager.
   */
  CODE_PEPPER: z.string().min(32).optional(),
  CODE_PEPPER_SECRET_ID: z.string().min(1).optional(),
  /** How long a warm function keeps the pepper secret before reading it again (picks up a rotation). */
  PEPPER_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  /** Staff JWTs: issuer and audience, keys from a JWKS URL (Cognito) or an inline JWKS (local issuer). */
  STAFF_JWT_ISSUER: z.string().min(1),
  STAFF_JWT_AUDIENCE: z.string().min(1).optional(),
  STAFF_JWKS_URL: z.url().optional(),
  STAFF_JWKS_JSON: z.string().min(1).optional(),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(86_400).default(86_400),
  /** How long an API key and its merchant are cached in a warm function before being read again. */
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /**
   * How long merchants and programs are cached in a warm function. Their changes (a merchant's
   * programs, a program's rules) reach other functions' warm instances within this time; the function
   * that made the change forgets its copy at once. Longer than the API key cache, so a request after a
   * quiet spell reads its key, not its key, merchant and program one after the other.
   */
  REFERENCE_CACHE_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  /**
   * Usage plans (functions/core/usage-plans.ts): in AWS, the API Gateway usage plans are named
   * `<USAGE_PLAN_PREFIX>-<tier>` and the merchants function registers each merchant's usage key in its
   * tier's plan. Unset locally, where the local gateway enforces the plans itself.
   */
  USAGE_PLAN_PREFIX: z.string().min(1).optional(),
  /** The API Gateway API key value every staff token is counted under (the staff plan's key). */
  STAFF_USAGE_KEY: z.string().min(20).optional(),
  /** Region code carried in card code prefixes and ids (one deployment per region). */
  REGION_CODE: z
    .string()
    .regex(/^[0-9]$/)
    .default('1'),
  /**
   * Rate limits (token buckets in the table, per minute; the whole minute may come as one burst) of the
   * routes that declare one in the route table: per caller (API key, staff user) and per card.
   */
  RATE_LIMIT_LOOKUP_PER_KEY_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_LOOKUP_PER_CARD_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  RATE_LIMIT_PIN_PER_KEY_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  RATE_LIMIT_PIN_PER_CARD_PER_MINUTE: z.coerce.number().int().min(1).default(5),
  /**
   * Fraud rule FAILED_CHECKS_KEY: more failed card lookups or PIN checks than this from one caller (API
   * key, staff user) within a 10-minute window raise an alert.
   */
  FRAUD_FAILED_CHECKS_PER_CALLER: z.coerce.number().int().min(1).default(20),
  /**
   * Apple Wallet pass certificates (functions/store/apple-certificates.ts): the JSON
   * `{ signerCert, signerKey, passphrase?, wwdr, passTypeIdentifier, teamIdentifier }`, given directly
   * under `npm start` and in tests, read from Secrets Manager in AWS (APPLE_PASS_SECRET_ID). Without
   * either, pass downloads and the PassKit web service answer 500 and say why in the log.
   */
  APPLE_PASS_CERTIFICATES: z.string().min(1).optional(),
  APPLE_PASS_SECRET_ID: z.string().min(1).optional(),
  /** The API's public base URL (no trailing slash); passes carry `<it>/wallet/apple` as webServiceURL. */
  PUBLIC_BASE_URL: z
    .url()
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  /**
   * Lets webhooks be registered for and delivered to http(s)://127.0.0.1, ::1 or localhost. Only the
   * local runtime and the tests set it; in AWS webhook URLs must be public https.
   */
  /** Where finance exports go (the export bucket of the region); the export functions and API need it. */
  EXPORT_BUCKET_NAME: z.string().min(1).optional(),
  /** Set only locally (s3rver); in AWS the SDK's regional endpoint is used. */
  S3_ENDPOINT: z.url().optional(),
  /**
   * The export state machine (plan -> segments -> finalize) POST /v1/exports starts in AWS. Unset (npm
   * start, tests), exports run in this process with the same handlers (functions/store/export-runner.ts).
   */
  EXPORT_STATE_MACHINE_ARN: z.string().min(1).optional(),
  /** The region's IANA time zone: monthly exports cut off at 00:00 of the 1st in it (lib/config.ts). */
  REPORTING_TIME_ZONE: z
    .string()
    .min(1)
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    })
    .default('UTC'),
  /** Parallel scan segments of an export; unset, the plan derives them from the table's size. */
  EXPORT_SEGMENTS: z.coerce.number().int().min(1).max(1000).optional(),
  /** Items one Scan call of an export segment evaluates; unset, 2,000 (functions/store/exports.ts). */
  EXPORT_SCAN_PAGE_ITEMS: z.coerce.number().int().min(1).max(100_000).optional(),
  WEBHOOKS_ALLOW_HTTP_LOCALHOST: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  /**
   * Wallet pushes (functions/store/apns.ts, google-wallet.ts). Credentials are JSON: given directly under
   * `npm start` and in tests (*_JSON), read from Secrets Manager in AWS (*_SECRET_ID) and kept for
   * WALLET_SECRET_CACHE_SECONDS. APNs key: `{ teamId, keyId, privateKey }` (the .p8 PEM); Google service
   * account: the key file Google gives, `{ client_email, private_key, ... }`, plus `issuerId`.
   */
  APNS_URL: z.url().default('https://api.push.apple.com'),
  APNS_KEY_JSON: z.string().min(1).optional(),
  APNS_KEY_SECRET_ID: z.string().min(1).optional(),
  GOOGLE_WALLET_API_URL: z.url().default('https://walletobjects.googleapis.com'),
  GOOGLE_OAUTH_TOKEN_URL: z.url().default('https://oauth2.googleapis.com/token'),
  GOOGLE_SERVICE_ACCOUNT_JSON: z.string().min(1).optional(),
  GOOGLE_SERVICE_ACCOUNT_SECRET_ID: z.string().min(1).optional(),
  /** Web origins allowed to show the Save to Google Wallet button (comma-separated). */
  GOOGLE_WALLET_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin.length > 0),
    ),
  /** The issuer name Google Wallet shows on every pass. */
  GOOGLE_WALLET_ISSUER_NAME: z.string().min(1).max(100).default('Gift cards'),
  WALLET_SECRET_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  /** Attempts of one APNs or Google call within an invocation (429, 5xx, network) before the record fails. */
  WALLET_CALL_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  WALLET_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
});

export type Config = z.infer<typeof schema>;

let cached: Config | undefined;

export function config(): Config {
  if (!cached) {
    const parsed = schema.safeParse(process.env);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
      throw new Error(`Invalid configuration: ${fields}`);
    }
    if (!parsed.data.CODE_PEPPER && !parsed.data.CODE_PEPPER_SECRET_ID) {
      throw new Error('Invalid configuration: CODE_PEPPER or CODE_PEPPER_SECRET_ID is required');
    }
    if (!parsed.data.STAFF_JWKS_URL && !parsed.data.STAFF_JWKS_JSON) {
      throw new Error('Invalid configuration: STAFF_JWKS_URL or STAFF_JWKS_JSON is required');
    }
    cached = parsed.data;
  }
  return cached;
}

/** Tests and the local runtime change the environment between runs; this forgets the parsed copy. */
export function resetConfigForTests(): void {
  cached = undefined;
}
