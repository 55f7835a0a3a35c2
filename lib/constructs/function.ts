import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { WalletSecretName } from '../../functions/streams/registry';
import type { RegionConfig } from '../config';
import type { GiftCardTable } from './table';

/** The repository root: the lock file, tsconfig and functions/ live here. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Staff JWT settings handed to every function (functions/config.ts STAFF_*). */
export interface StaffAuthSettings {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
}

/** What every function of a region shares: the table, the pepper, staff auth and the region settings. */
export interface FunctionRuntime {
  readonly region: RegionConfig;
  readonly table: GiftCardTable;
  readonly pepperSecret: secretsmanager.ISecret;
  readonly staffAuth: StaffAuthSettings;
  /**
   * Wallet push credentials; granted only to the functions that name them (grantWalletSecrets), never to
   * every function like the pepper.
   */
  readonly walletSecrets?: Readonly<Record<WalletSecretName, secretsmanager.ISecret>>;
  /**
   * Directory holding the Lambda sources (`api/<fn>.ts`, `streams/<module>.ts`).
   * @default <repo>/functions
   */
  readonly functionsDir?: string;
}

export interface GiftCardFunctionProps {
  readonly runtime: FunctionRuntime;
  /** Entry file relative to the functions directory, e.g. `api/cards.ts`. */
  readonly entry: string;
  /** Powertools service name (log `service` field, metrics namespace dimension). */
  readonly serviceName: string;
  readonly description: string;
  /** @default 10 seconds (API handlers: API Gateway itself gives up at 29 s) */
  readonly timeout?: Duration;
  /** @default 1024 MB (also buys CPU: scrypt PIN hashing and HMACs are CPU-bound) */
  readonly memorySize?: number;
  /** Table access: most handlers read and write; stream consumers may only need to read. */
  readonly tableAccess: 'read' | 'readWrite' | 'none';
  readonly environment?: Record<string, string>;
  /**
   * Other actions this function is granted on Resource `*` (beyond X-Ray), with why, for the cdk-nag
   * IAM5 acknowledgement.
   */
  readonly wildcardResourceActions?: string;
}

/**
 * Log retention for every function: one year. The ledger (not logs) is the financial record, but logs
 * are the audit trail of who called what and when; PCI DSS 10.5.1 asks for 12 months of audit history
 * and fraud investigations on stored-value cards routinely look back months. Longer retention belongs
 * in an archive (a later operations issue), not in CloudWatch at CloudWatch prices.
 */
export const FUNCTION_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/**
 * Read one secret: secretsmanager:GetSecretValue on its ARN, and kms:Decrypt on its key only through
 * Secrets Manager. Written out instead of `secret.grantRead` because that adds the grantee to the key
 * policy when the secret lives in another stack, which makes the data stack depend on every role.
 */
export function grantSecretRead(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
  );
  if (secret.encryptionKey) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com` },
        },
      }),
    );
  }
}

/** The environment variable that names each wallet secret (functions/config.ts). */
const WALLET_SECRET_ENV: Record<WalletSecretName, string> = {
  apnsKey: 'APNS_KEY_SECRET_ID',
  googleServiceAccount: 'GOOGLE_SERVICE_ACCOUNT_SECRET_ID',
  applePassCertificates: 'APPLE_PASS_SECRET_ID',
};

/** Grants one function the wallet secrets it names and tells it where they are. */
export function grantWalletSecrets(
  fn: GiftCardFunction,
  runtime: FunctionRuntime,
  names: readonly WalletSecretName[],
): void {
  for (const name of names) {
    const secret = runtime.walletSecrets?.[name];
    if (!secret)
      throw new Error(`${fn.node.path} needs the ${name} secret, which the runtime does not carry`);
    grantSecretRead(fn.role, secret);
    fn.function.addEnvironment(WALLET_SECRET_ENV[name], secret.secretArn);
  }
}

/** ESM output needs `require` for the CommonJS dependencies esbuild leaves as dynamic requires. */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * One Lambda function with the platform's fixed defaults: Node.js 22 on arm64, ESM bundle with source
 * maps, X-Ray tracing, its own log group with retention, and its own role with nothing but what it is
 * granted here (logs to its log group, tracing, the pepper secret, and the table as asked).
 *
 * The role is explicit instead of the default one with the AWSLambdaBasicExecutionRole managed policy:
 * that policy allows logs:CreateLogGroup and writes to every log group of the account, while the
 * function only ever writes to the log group created here.
 */
export class GiftCardFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GiftCardFunctionProps) {
    super(scope, id);
    const { runtime } = props;
    const functionsDir = runtime.functionsDir ?? path.join(PROJECT_ROOT, 'functions');

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: FUNCTION_LOG_RETENTION,
      // Logs are evidence: keep them for their retention period even if the function is removed.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.serviceName}: ${props.description}`.slice(0, 1000),
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(functionsDir, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Ship the exact AWS SDK versions of package-lock.json (the ones the tests ran against) rather
        // than whatever version the managed runtime happens to carry.
        bundleAwsSDK: true,
        tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
        // `cdk synth -q` stays quiet; esbuild warnings and errors still show.
        logLevel: nodejs.LogLevel.WARNING,
      },
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        LOG_LEVEL: runtime.region.logLevel,
        TABLE_NAME: runtime.table.tableName,
        CODE_PEPPER_SECRET_ID: runtime.pepperSecret.secretArn,
        REGION_CODE: runtime.region.regionCode,
        DEFAULT_CURRENCY: runtime.region.defaultCurrency,
        REPORTING_TIME_ZONE: runtime.region.timeZone,
        STAFF_JWT_ISSUER: runtime.staffAuth.issuer,
        STAFF_JWKS_URL: runtime.staffAuth.jwksUrl,
        STAFF_JWT_AUDIENCE: runtime.staffAuth.audience,
        ...props.environment,
      },
    });

    grantSecretRead(this.role, runtime.pepperSecret);
    if (props.tableAccess === 'readWrite') runtime.table.grantReadWriteData(this.role);
    if (props.tableAccess === 'read') runtime.table.grantReadData(this.role);

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: [
        'Resource * only for actions without resource-level permissions: xray:PutTraceSegments and ' +
          'xray:PutTelemetryRecords (Tracing.ACTIVE; X-Ray defines no resource types).',
        props.wildcardResourceActions,
      ]
        .filter(Boolean)
        .join(' '),
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the platform runtime on purpose: the bundle targets node22, the local runtime and ' +
        'the tests run on it, and Lambda supports it until 2027. Moving to Node.js 24 is a deliberate ' +
        'upgrade (tests first), not something a synth should do implicitly.',
    });
  }

  /** The function's name, for wiring. */
  get functionName(): string {
    return this.function.functionName;
  }
}

/**
 * An alarm on a metric the function writes as a structured log line (`logger.error('...', { metric })`):
 * a metric filter on its log group counts the lines, the alarm fires on the first one.
 */
export function alarmOnLogMetric(fn: GiftCardFunction, metric: string): cloudwatch.Alarm {
  return alarmOnFirst(fn, countLogMetric(fn, metric), `${metric} logged by ${fn.node.path}`);
}

/** A metric filter on the function's log group counting its `{ metric }` log lines (namespace GiftCard). */
export function countLogMetric(fn: GiftCardFunction, metric: string): logs.MetricFilter {
  return new logs.MetricFilter(fn, `Metric-${metric}`, {
    logGroup: fn.logGroup,
    metricNamespace: 'GiftCard',
    metricName: metric,
    filterPattern: logs.FilterPattern.stringValue('$.metric', '=', metric),
    metricValue: '1',
    defaultValue: 0,
  });
}

/** An alarm that fires on the first count of the filter's metric in 5 minutes. */
export function alarmOnFirst(
  scope: Construct,
  filter: logs.MetricFilter,
  description: string,
): cloudwatch.Alarm {
  const metric = filter.metric({ statistic: 'Sum', period: Duration.minutes(5) });
  return new cloudwatch.Alarm(scope, `Alarm-${metric.metricName}`, {
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: description,
  });
}
