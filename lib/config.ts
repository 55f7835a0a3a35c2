/**
 * The deployment configuration: one entry per region in cdk.json's context key `regions` (overridable
 * with `cdk synth -c regions='[...]'`). Checked once, before any stack is built, so a typo fails the
 * synth with a message naming the bad field instead of producing a half-configured region.
 */
import { z } from 'zod';
import { USAGE_PLAN_TIERS, type UsagePlanOverrides } from '../functions/core/usage-plans';

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

const isTimeZone = (value: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
};

const positiveInt = z.number().int().min(1);
const usagePlanOverride = z.strictObject({
  rateLimit: z.number().positive().optional(),
  burstLimit: positiveInt.optional(),
  dailyQuota: positiveInt.optional(),
});
/** Per-tier overrides of functions/core/usage-plans.ts DEFAULT_USAGE_PLANS. */
const usagePlansSchema = z.strictObject(
  Object.fromEntries(USAGE_PLAN_TIERS.map((tier) => [tier, usagePlanOverride.optional()])) as Record<
    (typeof USAGE_PLAN_TIERS)[number],
    z.ZodOptional<typeof usagePlanOverride>
  >,
);

const accountSchema = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

const HOSTNAME = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/**
 * The API's stable public name in a region: Wallet passes carry `https://<name>/wallet/apple` as their
 * webServiceURL for as long as they are installed, so it must outlive any API Gateway API (an execute-api
 * id changes when the API is recreated). A host name only: the passes always get https.
 */
const apiDomainSchema = z.strictObject({
  name: z
    .string()
    .regex(
      HOSTNAME,
      'must be a lower-case host name such as api.eu.giftcards.example.com (no scheme: passes use https)',
    ),
  /** An ACM certificate for the name, in the region itself (a regional API Gateway domain). */
  certificateArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
      'must be an ACM certificate ARN',
    ),
});

/** Host names reserved for examples and tests (RFC 2606, RFC 6761): never a deployment's. */
const RESERVED_NAME = /(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$/;
/** A certificate id of zeros: the shape of an ARN, no certificate. */
const PLACEHOLDER_CERTIFICATE = /:certificate\/0{8}-0{4}-0{4}-0{4}-/;

type ApiDomain = z.output<typeof apiDomainSchema>;

/**
 * Why a region's `apiDomain` cannot be deployed, or undefined when it can. Every installed pass keeps
 * `https://<name>/wallet/apple` for its life: a deploy with the example values would hand out passes that
 * can never be updated.
 */
function undeployableApiDomain(apiDomain: ApiDomain | undefined): string | undefined {
  if (!apiDomain) {
    return 'has no "apiDomain": add { "name": "<the API\'s host name>", "certificateArn": "<ACM certificate ARN for it, in this region>" }';
  }
  if (RESERVED_NAME.test(apiDomain.name)) {
    return `apiDomain.name ${apiDomain.name} is an example name (reserved, RFC 2606): put the API's real host name`;
  }
  if (PLACEHOLDER_CERTIFICATE.test(apiDomain.certificateArn)) {
    return 'apiDomain.certificateArn is the example ARN (a certificate id of zeros): put the ARN of the ACM certificate for the name';
  }
  return undefined;
}

/** The web apps of a region (lib/web-stack.ts): where they are served and the staff sign-in domain. */
const webSchema = z.strictObject({
  /** A custom domain for the portal and the console (else CloudFront's own `*.cloudfront.net` name). */
  domainName: z
    .string()
    .regex(
      /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      'must be a lower-case DNS name',
    )
    .optional(),
  /** The ACM certificate (in us-east-1, as CloudFront requires) for domainName. */
  certificateArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/,
      'must be an ACM certificate ARN in us-east-1',
    )
    .optional(),
  /** The Cognito hosted UI domain prefix (`<prefix>.auth.<region>.amazoncognito.com`), unique in the region. */
  authDomainPrefix: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lower-case letters, digits and hyphens')
    .refine((prefix) => !/aws|amazon|cognito/.test(prefix), 'must not contain aws, amazon or cognito')
    .optional(),
});

/**
 * The stage (`prod`, `staging`, ...): part of every stack name and every physical name that must be unique
 * in an account and region (KMS alias, export bucket, usage plans and keys, dashboard, alarm names, metric
 * namespace), so two stages can share an account and region. Short, because names carry it with the
 * account and region (an S3 bucket name has 63 characters).
 */
export const STAGE_PATTERN = /^[a-z][a-z0-9]{0,11}$/;
const stageSchema = z
  .string()
  .regex(STAGE_PATTERN, 'must be 1-12 lower-case letters and digits, starting with a letter (e.g. prod)');

/** An origin as Google Wallet takes it: https scheme and host, no path (localhost may be http). */
const webOrigin = z
  .string()
  .refine(
    (value) => /^https:\/\/[a-z0-9.-]+(:\d+)?$/i.test(value) || /^http:\/\/localhost(:\d+)?$/.test(value),
    'must be an origin such as https://shop.example.com (scheme and host, no path)',
  );

/**
 * The region's failed-check limits (lookups that found nothing, wrong PINs) in the sliding window, per
 * caller and per merchant (functions/config.ts FAILED_CHECKS_LIMIT_*); merchants and programs may set
 * their own. Request volume is the usage plans' (`usagePlans`).
 */
const rateLimitsSchema = z.strictObject({
  failuresPerCaller: positiveInt.max(100_000).optional(),
  failuresPerMerchant: positiveInt.max(100_000).optional(),
});

/**
 * Who hears the region's alarms (one SNS topic per region and stage, lib/alarm-topic-stack.ts): e-mail
 * addresses (each confirms its subscription once), and Slack channels through AWS Chatbot (the workspace
 * is authorised once per account in the Chatbot console; the ids are not secrets).
 */
const alarmSubscribersSchema = z.strictObject({
  emails: z.array(z.email('must be an e-mail address')).max(20).default([]),
  slack: z
    .array(
      z.strictObject({
        workspaceId: z.string().regex(/^[A-Z0-9]{9,11}$/, 'must be a Slack workspace id such as T0123ABCD'),
        channelId: z.string().regex(/^[A-Z0-9]{9,11}$/, 'must be a Slack channel id such as C0123ABCD'),
      }),
    )
    .max(5)
    .default([]),
});

/**
 * The region's delivery service (functions/store/message-sender.ts): e-mail through SES v2 from
 * `fromAddress` (its domain is created as an SES identity; verify it with the DKIM records SES shows, and
 * leave the SES sandbox before production), text messages through AWS End User Messaging SMS from
 * `smsOriginationIdentity` (a phone number, sender id or pool the account has). Without this block e-gifts
 * and sign-in codes cannot be sent in the region (the calls fail with DeliveryNotConfigured).
 */
const deliverySchema = z.strictObject({
  fromAddress: z.email('must be the e-mail address messages are sent from'),
  fromName: z
    .string()
    .regex(
      /^[^\r\n<>"]{1,64}$/,
      'must be a display name of at most 64 characters, no quotes or angle brackets',
    )
    .optional(),
  smsOriginationIdentity: z.string().min(1).max(256).optional(),
});

const regionSchema = z.strictObject({
  region: z.string().regex(AWS_REGION, 'must be an AWS region name such as us-east-1'),
  /** One digit carried in card code prefixes and ids (functions/config.ts REGION_CODE). */
  regionCode: z.string().regex(/^[0-9]$/, 'must be a single digit 0-9 (it prefixes card codes)'),
  defaultCurrency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Dublin'),
  /** Overrides the top-level `account` for this region. */
  account: accountSchema.optional(),
  /** Powertools log level of the region's functions. */
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** API Gateway usage plan figures per tier (`standard`, `high-volume`, `staff`), over the defaults. */
  usagePlans: usagePlansSchema.optional() as z.ZodOptional<z.ZodType<UsagePlanOverrides>>,
  /** The API's custom domain: without one, Apple Wallet passes are not offered (they need a stable URL). */
  apiDomain: apiDomainSchema.optional(),
  /** The web apps' domain and sign-in (optional: CloudFront's name and a default prefix otherwise). */
  web: webSchema
    .refine((web) => (web.domainName === undefined) === (web.certificateArn === undefined), {
      message: 'domainName and certificateArn go together',
      path: ['certificateArn'],
    })
    .optional(),
  /** Web origins allowed to show the Save to Google Wallet button (functions/config.ts GOOGLE_WALLET_ORIGINS). */
  googleWalletOrigins: z.array(webOrigin).max(50).optional(),
  /** The issuer name Google Wallet shows on every pass (GOOGLE_WALLET_ISSUER_NAME). */
  googleWalletIssuerName: z.string().min(1).max(100).optional(),
  rateLimits: rateLimitsSchema.optional(),
  delivery: deliverySchema.optional(),
  alarms: alarmSubscribersSchema.default({ emails: [], slack: [] }),
  /**
   * Where alarm descriptions point for their runbook (docs/runbooks/ of this repository as the team
   * browses it, e.g. https://git.example.com/giftcard/blob/main/docs/runbooks). Unset, the descriptions
   * name the file path in the repository.
   */
  runbookBaseUrl: z.url({ protocol: /^https$/ }).optional(),
});

const regionsSchema = z
  .array(regionSchema)
  .min(1, 'at least one region is required')
  .superRefine((regions, ctx) => {
    const seen = (key: 'region' | 'regionCode') => {
      const values = new Map<string, number>();
      regions.forEach((entry, index) => {
        const previous = values.get(entry[key]);
        if (previous !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [index, key],
            message: `duplicates regions[${previous}].${key} (${entry[key]}): each region needs its own`,
          });
        }
        values.set(entry[key], index);
      });
    };
    seen('region');
    seen('regionCode');
    regions.forEach((entry, index) => {
      const certificateRegion = entry.apiDomain?.certificateArn.split(':')[3];
      if (certificateRegion !== undefined && certificateRegion !== entry.region) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'apiDomain', 'certificateArn'],
          message: `must be a certificate of ${entry.region} (a regional API domain), not of ${certificateRegion}`,
        });
      }
    });
  });

export type RegionConfig = z.output<typeof regionSchema> & {
  /** The stage this deployment is (lib/config.ts STAGE_PATTERN); the same for every region of a synth. */
  readonly stage: string;
};

export interface DeploymentConfig {
  readonly stage: string;
  readonly regions: readonly RegionConfig[];
}

/**
 * Per-stage settings over the regions': `{ "staging": { "account": "...", "regions": { "eu-west-1": {
 * "logLevel": "DEBUG", "alarms": { "emails": [] } } } } }`. Each region's entry replaces whole fields of the
 * region (an `alarms` given here replaces the region's, it is not merged into it).
 */
const stageOverlaySchema = z.strictObject({
  account: accountSchema.optional(),
  regions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
const stagesSchema = z.record(stageSchema, stageOverlaySchema);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const formatIssues = (prefix: string, error: z.ZodError): string =>
  error.issues
    .map((issue) => {
      const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`));
      return `  ${prefix}${path.join('')}: ${issue.message}`;
    })
    .join('\n');

/** A context value given on the command line (`-c regions=[...]`) arrives as a string. */
const fromContext = (name: string, value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(`Invalid CDK context "${name}": not valid JSON: ${value}`);
  }
};

/**
 * Parses the raw context values. `account` (top level) applies to every region without its own;
 * without either, the stacks are account-agnostic (CDK_DEFAULT_ACCOUNT is used when deploying).
 */
export function parseDeploymentConfig(raw: {
  regions: unknown;
  account?: unknown;
  stage?: unknown;
  stages?: unknown;
  /**
   * The region about to be deployed (`-c deployRegion=<region>`, which `npm run deploy` passes): its
   * deployment-only settings must then be real, not the examples cdk.json ships (`cdk synth` offline and
   * the tests build those as they are).
   */
  deployRegion?: unknown;
}): DeploymentConfig {
  const help =
    'Expected cdk.json context "regions": [{ "region": "us-east-1", "regionCode": "1", ' +
    '"defaultCurrency": "USD", "timeZone": "America/New_York" }, ...] (optional "account", "logLevel").';
  const stage = parseStage(raw.stage);
  const overlay = stageOverlay(stage, fromContext('stages', raw.stages));
  const regionsValue = fromContext('regions', raw.regions);
  if (regionsValue === undefined) {
    throw new ConfigError(`Missing CDK context "regions". ${help}`);
  }
  const parsed = regionsSchema.safeParse(withOverlay(regionsValue, overlay?.regions, stage));
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid CDK context "regions":\n${formatIssues('regions', parsed.error)}\n${help}`,
    );
  }
  // Not JSON-parsed: `-c account=012345678901` is a string, and as a number it would lose its leading 0.
  const accountValue = overlay?.account ?? raw.account;
  let account: string | undefined;
  if (accountValue !== undefined) {
    const parsedAccount = accountSchema.safeParse(accountValue);
    if (!parsedAccount.success) {
      throw new ConfigError(
        `Invalid CDK context "account":\n${formatIssues('account', parsedAccount.error)}`,
      );
    }
    account = parsedAccount.data;
  }
  if (raw.deployRegion !== undefined) checkDeployable(parsed.data, raw.deployRegion, stage);
  return {
    stage,
    regions: parsed.data.map((entry) => ({ ...entry, stage, account: entry.account ?? account })),
  };
}

/** Refuses a deploy of a region that is not configured, or whose custom domain is missing or an example. */
function checkDeployable(
  regions: readonly { region: string; apiDomain?: ApiDomain | undefined }[],
  deployRegion: unknown,
  stage: string,
): void {
  const entry = regions.find((region) => region.region === deployRegion);
  if (!entry) {
    throw new ConfigError(
      `Cannot deploy ${String(deployRegion)}: cdk.json context "regions" does not configure it.`,
    );
  }
  const reason = undeployableApiDomain(entry.apiDomain);
  if (reason) {
    throw new ConfigError(
      `Cannot deploy ${entry.region} (stage ${stage}): regions[${regions.indexOf(entry)}] (${entry.region}) ${reason}. ` +
        'Wallet passes carry https://<apiDomain.name>/wallet/apple for as long as they are installed (README, "Deploy").',
    );
  }
}

function parseStage(value: unknown): string {
  const parsed = stageSchema.safeParse(value ?? DEFAULT_STAGE);
  if (!parsed.success) {
    throw new ConfigError(`Invalid CDK context "stage":\n${formatIssues('stage', parsed.error)}`);
  }
  return parsed.data;
}

/** The stage when cdk.json and the command line name none. */
export const DEFAULT_STAGE = 'prod';

function stageOverlay(stage: string, value: unknown): z.output<typeof stageOverlaySchema> | undefined {
  if (value === undefined) return undefined;
  const parsed = stagesSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`Invalid CDK context "stages":\n${formatIssues('stages', parsed.error)}`);
  }
  const known = Object.keys(parsed.data);
  if (known.length > 0 && !known.includes(stage)) {
    // A typo in `-c stage=...` must not deploy a new, unconfigured copy of the platform.
    throw new ConfigError(
      `Unknown stage "${stage}": cdk.json context "stages" configures ${known.map((name) => `"${name}"`).join(', ')}.`,
    );
  }
  return parsed.data[stage];
}

/**
 * The regions with the stage's fields over them. An overlay may name a region this synth does not build
 * (`-c regions=[...]` narrows them), but it must be a region name.
 */
function withOverlay(
  regions: unknown,
  overlays: Record<string, Record<string, unknown>> | undefined,
  stage: string,
): unknown {
  if (!overlays || !Array.isArray(regions)) return regions;
  for (const name of Object.keys(overlays)) {
    if (!AWS_REGION.test(name)) {
      throw new ConfigError(
        `Invalid CDK context "stages": stages.${stage}.regions.${name} is not an AWS region name`,
      );
    }
  }
  return regions.map((entry: unknown) => {
    const name = (entry as { region?: unknown } | null)?.region;
    const fields = typeof name === 'string' ? overlays[name] : undefined;
    return fields && entry && typeof entry === 'object' ? { ...entry, ...fields } : entry;
  });
}
