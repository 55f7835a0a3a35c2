import * as path from 'node:path';
import { AssetHashType, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type MetricName, metricNamespace } from '../../functions/observability/metric-names';
import type { WalletSecretName } from '../../functions/streams/registry';
import type { RegionConfig } from '../config';
import { appMetric, opsAlarm } from '../monitoring/ops-alarm';
import type { RunbookId } from '../monitoring/runbooks';
import {
  APP_METRIC_WHY,
  FUNCTION_ERRORS,
  FUNCTION_THROTTLES_WHY,
  type FunctionKind,
} from '../monitoring/thresholds';
import { bundleFunction, PROJECT_ROOT } from './bundle';
import type { DeliverySettings } from './delivery';
import type { GiftCardTable } from './table';

export { PROJECT_ROOT } from './bundle';

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
  /** The delivery service of the region (lib/constructs/delivery.ts), when it configures one. */
  readonly delivery?: DeliverySettings;
  /**
   * The card-holder portal's origin (lib/web-stack.ts siteOrigin: the region's `web.domainName`, else
   * CloudFront's): e-gift claim links point there (functions/config.ts PORTAL_BASE_URL).
   */
  readonly portalBaseUrl?: string;
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
  /** Powertools service name (log `service` field, metrics `service` dimension), `giftcard-<kind>-<name>`. */
  readonly serviceName: string;
  /**
   * What the function does: picks its alarm thresholds (lib/monitoring/thresholds.ts) and its deployment
   * (API and stream consumers: canary, 10 % for 5 minutes; jobs and export steps: all at once, rolled back
   * on their alarms).
   */
  readonly kind: FunctionKind;
  readonly description: string;
  /** @default 10 seconds (API handlers: API Gateway itself gives up at 29 s) */
  readonly timeout?: Duration;
  /** @default 1024 MB (also buys CPU: scrypt PIN hashing and HMACs are CPU-bound) */
  readonly memorySize?: number;
  /** Table access: most handlers read and write; stream consumers may only need to read. */
  readonly tableAccess: 'read' | 'readWrite' | 'none';
  readonly environment?: Record<string, string>;
  /**
   * A fixed function name, for a function that must name itself in its own policy (a self-reinvoking
   * runner): a generated name would make the role's policy depend on the function that depends on it.
   */
  readonly functionName?: string;
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

/**
 * The function's code: its entry bundled by esbuild on the machine running synth (lib/constructs/bundle.ts,
 * the same build bench/cold-start.ts measures), the asset hashed by its output. esbuild is one of the
 * project's (dev) dependencies, which synth needs anyway, so there is no Docker fallback: a failed build
 * fails the synth.
 */
function bundledCode(entry: string): lambda.Code {
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: lambda.Runtime.NODEJS_22_X.bundlingImage,
      // Never run (local bundling always answers); it names the entry, which keeps each function's asset
      // apart in CDK's staging cache (keyed by these options).
      command: ['esbuild', path.relative(PROJECT_ROOT, entry)],
      local: {
        tryBundle(outputDir) {
          bundleFunction(entry, outputDir);
          return true;
        },
      },
    },
  });
}

/**
 * One Lambda function with the platform's fixed defaults: Node.js 22 on arm64, ESM bundle split into
 * chunks with source maps beside them (read only when an error is logged:
 * functions/observability/stack-positions.ts; Node's --enable-source-maps would index them at every cold
 * start), X-Ray tracing, its own log group with retention, and its own role with nothing but what it is
 * granted here (logs to its log group, tracing, the pepper secret, and the table as asked).
 *
 * The role is explicit instead of the default one with the AWSLambdaBasicExecutionRole managed policy:
 * that policy allows logs:CreateLogGroup and writes to every log group of the account, while the
 * function only ever writes to the log group created here.
 */
export class GiftCardFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /**
   * The alias everything invokes (API Gateway, event source mappings, schedules, the export state machine):
   * CodeDeploy moves it to each new version, by canary or at once, and back when an alarm fires.
   */
  readonly alias: lambda.Alias;
  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly throttlesAlarm: cloudwatch.Alarm;
  readonly kind: FunctionKind;
  readonly serviceName: string;
  private readonly region: RegionConfig;

  constructor(scope: Construct, id: string, props: GiftCardFunctionProps) {
    super(scope, id);
    const { runtime } = props;
    this.kind = props.kind;
    this.serviceName = props.serviceName;
    this.region = runtime.region;
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

    this.function = new lambda.Function(this, 'Function', {
      code: bundledCode(path.join(functionsDir, props.entry)),
      ...(props.functionName ? { functionName: props.functionName } : {}),
      // BUNDLE_ENTRY_FILE's export.
      handler: 'index.handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
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
        POWERTOOLS_METRICS_NAMESPACE: metricNamespace(runtime.region.stage),
        ...regionSettings(runtime.region),
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
    this.alias = new lambda.Alias(this, 'Live', {
      aliasName: LIVE_ALIAS,
      version: this.function.currentVersion,
    });
    this.errorsAlarm = this.alarmOnErrors();
    this.throttlesAlarm = opsAlarm(this, 'ThrottlesAlarm', {
      region: runtime.region,
      name: `${shortName(props.serviceName)}-throttles`,
      runbook: 'lambda-throttles',
      summary: `Lambda ${props.serviceName} was throttled.`,
      why: FUNCTION_THROTTLES_WHY,
      metric: this.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
    });
    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'Deployment', {
      alias: this.alias,
      ...stackDeployments(this),
      deploymentConfig:
        props.kind === 'api' || props.kind === 'stream'
          ? codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES
          : codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
      alarms: [this.errorsAlarm],
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
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

  /** An alarm that also rolls a deployment of this function back while it fires. */
  addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    this.deploymentGroup.addAlarm(alarm);
  }

  /**
   * An alarm on a metric this function emits (functions/observability/metric-names.ts): fires on the first
   * count in 5 minutes.
   */
  alarmOnMetric(metricName: MetricName, runbook: RunbookId, summary: string): cloudwatch.Alarm {
    return opsAlarm(this, `Alarm-${metricName}`, {
      region: this.region,
      name: `${shortName(this.serviceName)}-${kebab(metricName)}`,
      runbook,
      summary,
      why: APP_METRIC_WHY,
      metric: appMetric(this.region, metricName, this.serviceName),
      threshold: 1,
    });
  }

  private alarmOnErrors(): cloudwatch.Alarm {
    const threshold = FUNCTION_ERRORS[this.kind];
    return opsAlarm(this, 'ErrorsAlarm', {
      region: this.region,
      name: `${shortName(this.serviceName)}-errors`,
      runbook: this.kind === 'job' ? 'job-failed' : 'lambda-errors',
      summary: `Lambda ${this.serviceName} failed invocations.`,
      why: threshold.why,
      metric: this.function.metricErrors({
        period: Duration.minutes(threshold.periodMinutes),
        statistic: 'Sum',
      }),
      threshold: threshold.errors,
      evaluationPeriods: threshold.evaluationPeriods,
      datapointsToAlarm: threshold.datapointsToAlarm,
    });
  }
}

/** Tells a function where claim links point (the functions that issue or send e-gift claim links). */
export function usePortalBaseUrl(fn: GiftCardFunction, runtime: FunctionRuntime): void {
  if (runtime.portalBaseUrl) fn.function.addEnvironment('PORTAL_BASE_URL', runtime.portalBaseUrl);
}

/** The alias name every caller invokes. */
export const LIVE_ALIAS = 'live';

/** `giftcard-api-cards` -> `api-cards` (alarm names carry `giftcard-<stage>-` already). */
const shortName = (serviceName: string): string => serviceName.replace(/^giftcard-/, '');
const kebab = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Region settings of cdk.json the functions read (functions/config.ts); unset ones keep its defaults. */
function regionSettings(region: RegionConfig): Record<string, string> {
  const limits = region.rateLimits ?? {};
  const entries: [string, string | number | undefined][] = [
    ['GOOGLE_WALLET_ORIGINS', region.googleWalletOrigins?.join(',')],
    ['GOOGLE_WALLET_ISSUER_NAME', region.googleWalletIssuerName],
    ['FAILED_CHECKS_LIMIT_PER_CALLER', limits.failuresPerCaller],
    ['FAILED_CHECKS_LIMIT_PER_MERCHANT', limits.failuresPerMerchant],
  ];
  return Object.fromEntries(
    entries.flatMap(([name, value]) => (value === undefined || value === '' ? [] : [[name, String(value)]])),
  );
}

/**
 * One CodeDeploy application and one service role per stack, shared by its functions' deployment groups
 * (instead of one of each per function).
 */
function stackDeployments(scope: Construct): { application: codedeploy.LambdaApplication; role: iam.Role } {
  const stack = Stack.of(scope);
  const id = 'FunctionDeployments';
  const existing = stack.node.tryFindChild(id) as Construct | undefined;
  const holder = existing ?? new Construct(stack, id);
  const application =
    (holder.node.tryFindChild('Application') as codedeploy.LambdaApplication | undefined) ??
    new codedeploy.LambdaApplication(holder, 'Application');
  let role = holder.node.tryFindChild('Role') as iam.Role | undefined;
  if (!role) {
    role = new iam.Role(holder, 'Role', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com'),
      description: 'CodeDeploy: shifts the functions aliases of this stack to new versions and back',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        'The AWS-maintained policy for CodeDeploy Lambda deployments (LambdaDeploymentGroup attaches it): ' +
        'lambda:UpdateAlias/GetAlias/GetProvisionedConcurrencyConfig and cloudwatch:DescribeAlarms to shift ' +
        'aliases and watch the rollback alarms, and sns:Publish to topics named CodeDeployTopic only.',
    });
  }
  return { application, role };
}
