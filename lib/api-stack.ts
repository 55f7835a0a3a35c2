import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  AUTHORIZER_CACHE_SECONDS,
  USAGE_PLAN_TIERS,
  type UsagePlanOverrides,
  type UsagePlanTier,
  usagePlanName,
  usagePlans,
} from '../functions/core/usage-plans';
import { GATEWAY_PROBLEMS, usesAuthorizer } from '../functions/http/gateway';
import { problemOf } from '../functions/http/problem';
import { API_FUNCTIONS, type ApiFunctionName, ROUTES, routesOf } from '../functions/http/route-table';
import { METRIC } from '../functions/observability/metric-names';
import type { WalletSecretName } from '../functions/streams/registry';
import {
  FUNCTION_LOG_RETENTION,
  type FunctionRuntime,
  GiftCardFunction,
  grantWalletSecrets,
} from './constructs/function';
import { grantQueueDepthReads } from './constructs/queue-depths';
import { grantUsageKeyRegistration, usagePlanPrefix } from './constructs/usage-keys';
import { ApiWebAcl } from './constructs/web-acl';
import { appMetric, opsAlarm } from './monitoring/ops-alarm';
import { ROUTE_GROUP_5XX, ROUTE_GROUP_P99, STAGE_5XX, STAGE_P99 } from './monitoring/thresholds';

export interface ApiStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** @default 'live' */
  readonly stageName?: string;
  /** Stage-wide steady-state request rate (requests per second). @default 500 */
  readonly throttlingRateLimit?: number;
  /** Stage-wide burst. @default 1000 */
  readonly throttlingBurstLimit?: number;
  /** Usage plan figures over functions/core/usage-plans.ts DEFAULT_USAGE_PLANS (cdk.json `usagePlans`). */
  readonly usagePlans?: UsagePlanOverrides;
  /** The API's custom domain (cdk.json `apiDomain`); Apple Wallet passes need it. */
  readonly apiDomain?: { readonly name: string; readonly certificateArn: string };
  /**
   * The web apps' origin (lib/web-stack.ts): the one origin browsers may call the API from (CORS:
   * preflights, the handlers' answers and API Gateway's own refusals). None: no CORS at all.
   */
  readonly consoleOrigin?: string;
}

/**
 * The base URL Apple Wallet passes carry (webServiceURL is `<it>/wallet/apple`): the region's custom
 * domain, https. Passes live on devices for years, so never the execute-api URL of one API's life; and
 * never http, which Wallet refuses outside development.
 */
export function walletBaseUrl(domainName: string): string {
  const url = `https://${domainName}`;
  if (!URL.canParse(url) || new URL(url).protocol !== 'https:' || new URL(url).hostname !== domainName) {
    throw new Error(`The API domain must be a bare host name for an https URL, not ${domainName}`);
  }
  return url;
}

/** What the console and the portal send and read across origins. */
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'];

/** Table access per API function: the health check, reports and the audit trail only read. */
export const API_TABLE_ACCESS: Record<ApiFunctionName, 'read' | 'readWrite'> = {
  system: 'read',
  programs: 'readWrite',
  merchants: 'readWrite',
  cards: 'readWrite',
  transactions: 'readWrite',
  webhooks: 'readWrite',
  fraud: 'readWrite',
  reports: 'read',
  exports: 'readWrite',
  // Records that a card's Google object may exist (GOOGLEOBJECT), so the wallet-sync consumer updates it.
  'google-wallet': 'readWrite',
  wallet: 'readWrite',
  // The card-holder portal: lookups spend PIN attempts and rate-limit tokens, transfers move value.
  portal: 'readWrite',
  care: 'read',
  // Reads the job-run records; queue depths come from SQS.
  ops: 'read',
};

/** Wallet secrets per API function: only the Google save link signs with the service account. */
const WALLET_SECRETS: Partial<Record<ApiFunctionName, readonly WalletSecretName[]>> = {
  'google-wallet': ['googleServiceAccount'],
  // Signs Apple Wallet passes; the only function that may read the pass certificate and key.
  wallet: ['applePassCertificates'],
  // The portal's wallet buttons: the holder's Apple pass and Google save link.
  portal: ['applePassCertificates', 'googleServiceAccount'],
};

const NO_AUTH_REASON =
  'Only the public routes (health, OpenAPI document, API reference) have no authorizer; every route a ' +
  'merchant or staff member calls has the Lambda REQUEST authorizer (functions/http/authorizer.ts), which ' +
  'checks the API key by hash in DynamoDB or the staff JWT against the pool JWKS and names the usage plan ' +
  'key; the handler then authorises per route from the route table (scopes, roles, revocation at once).';
const NO_COGNITO_AUTHORIZER_REASON =
  'Merchants authenticate with API keys (hashed, scoped, revocable in DynamoDB), which a Cognito ' +
  'authorizer cannot check, and one Lambda REQUEST authorizer serves merchants and staff alike: it ' +
  'verifies staff Cognito JWTs against the user pool JWKS (issuer, audience/client_id, groups) with the ' +
  "handlers' own code and returns the usage plan key API Gateway needs (apiKeySource AUTHORIZER).";
/**
 * The HTTP API of one region: a REST API generated from ROUTES (one Lambda per route group, Lambda
 * proxy integration), with access logs, execution error logs, X-Ray, throttling, basic request
 * validation and a WAF web ACL. Merchant and staff routes go through the REQUEST authorizer and require
 * an API key, which the authorizer supplies (apiKeySource AUTHORIZER): one usage plan per tier of
 * functions/core/usage-plans.ts, merchants' keys registered by the merchants function, one staff key.
 */
export class ApiStack extends Stack {
  readonly api: apigateway.RestApi;
  readonly functions: Record<ApiFunctionName, GiftCardFunction>;
  readonly accessLogs: logs.LogGroup;
  readonly webAcl: ApiWebAcl;
  readonly authorizerFunction: GiftCardFunction;
  readonly usagePlans: Record<UsagePlanTier, apigateway.UsagePlan>;
  /** Per route group (API function): 5xx rate, p99 latency and 503 TIMED_OUT answers; they roll canaries back. */
  readonly routeGroupAlarms: Record<ApiFunctionName, cloudwatch.Alarm[]>;
  /** The whole stage as API Gateway counts it: 5xx rate and p99 latency. */
  readonly stageAlarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { stage } = props.runtime.region;

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: FUNCTION_LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `giftcard-api-${stage}-${this.region}`,
      description: 'Gift card platform HTTP API (generated from functions/http/route-table.ts)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // Usage plans count requests under the key the authorizer names: merchants keep their Bearer API keys.
      apiKeySourceType: apigateway.ApiKeySourceType.AUTHORIZER,
      // Wallet passes go out as bytes (the handler answers base64 with isBase64Encoded). API Gateway decodes them
      // only when the request's first Accept type is a binary media type; browsers and Wallet send text/html or
      // */* first, hence */*. Its consequence: every request body reaches the handlers base64-encoded
      // (isBase64Encoded, decoded in functions/http/api-handler.ts before the size check and JSON parsing);
      // JSON answers (isBase64Encoded false) pass through unchanged.
      binaryMediaTypes: ['application/vnd.apple.pkpass', '*/*'],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stageName ?? 'live',
        tracingEnabled: true,
        metricsEnabled: true,
        // Errors only, and never request/response bodies: bodies carry card codes, PINs and API keys.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: props.throttlingRateLimit ?? 500,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 1000,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        // No headers: they carry API keys and tokens.
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigateway.AccessLogField.contextRequestId(),
            extendedRequestId: apigateway.AccessLogField.contextExtendedRequestId(),
            requestTime: apigateway.AccessLogField.contextRequestTimeEpoch(),
            ip: apigateway.AccessLogField.contextIdentitySourceIp(),
            userAgent: apigateway.AccessLogField.contextIdentityUserAgent(),
            httpMethod: apigateway.AccessLogField.contextHttpMethod(),
            resourcePath: apigateway.AccessLogField.contextResourcePath(),
            protocol: apigateway.AccessLogField.contextProtocol(),
            status: apigateway.AccessLogField.contextStatus(),
            responseLength: apigateway.AccessLogField.contextResponseLength(),
            responseLatency: apigateway.AccessLogField.contextResponseLatency(),
            integrationStatus: apigateway.AccessLogField.contextIntegrationStatus(),
            integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
            wafResponseCode: apigateway.AccessLogField.contextWafResponseCode(),
            xrayTraceId: apigateway.AccessLogField.contextXrayTraceId(),
            errorMessage: apigateway.AccessLogField.contextErrorMessage(),
          }),
        ),
      },
    });

    // Basic validation: required parameters and, where a method declares a model, the body.
    const requestValidator = this.api.addRequestValidator('BasicValidator', {
      requestValidatorName: 'basic',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const planPrefix = usagePlanPrefix(this.region, stage);
    const functions: Partial<Record<ApiFunctionName, GiftCardFunction>> = {};
    for (const fn of API_FUNCTIONS) {
      functions[fn] = new GiftCardFunction(this, `Fn-${fn}`, {
        runtime: props.runtime,
        entry: `api/${fn}.ts`,
        serviceName: `giftcard-api-${fn}`,
        kind: 'api',
        description: `Gift card API '${fn}' handler: ${routesOf(fn).length} route(s) of functions/http/route-table.ts`,
        tableAccess: API_TABLE_ACCESS[fn],
        environment: {
          ...(fn === 'merchants' ? { USAGE_PLAN_PREFIX: planPrefix } : {}),
          // Answers carry Access-Control-Allow-Origin for this origin only (functions/http/api-handler.ts).
          ...(props.consoleOrigin ? { CORS_ALLOWED_ORIGIN: props.consoleOrigin } : {}),
          // The Ops page lists this region's dead-letter queues (CloudFormation names them <stack>-Dlq...).
          ...(fn === 'ops' ? { OPS_QUEUE_PREFIX: 'GiftCard-' } : {}),
        },
      });
      grantWalletSecrets(functions[fn], props.runtime, WALLET_SECRETS[fn] ?? []);
    }
    this.functions = functions as Record<ApiFunctionName, GiftCardFunction>;
    grantUsageKeyRegistration(this.functions.merchants);
    this.routeGroupAlarms = Object.fromEntries(
      API_FUNCTIONS.map((fn) => [fn, this.alarmOnRouteGroup(fn, this.functions[fn], props.runtime)]),
    ) as Record<ApiFunctionName, cloudwatch.Alarm[]>;

    // Not a secret: with apiKeySource AUTHORIZER a client cannot present an API Gateway key at all, so
    // this value only names the plan staff requests count against.
    const staffUsageKey = `${planPrefix}-staff-usage`;
    this.authorizerFunction = new GiftCardFunction(this, 'Fn-authorizer', {
      runtime: props.runtime,
      entry: 'http/authorizer.ts',
      serviceName: 'giftcard-api-authorizer',
      kind: 'api',
      description:
        'API Gateway REQUEST authorizer: checks the bearer credential and names its usage plan key',
      // Reads keys and merchants; writes an API key's last use (once a minute).
      tableAccess: 'readWrite',
      environment: { STAFF_USAGE_KEY: staffUsageKey },
    });
    const authorizer = new apigateway.RequestAuthorizer(this, 'Authorizer', {
      authorizerName: 'bearer',
      handler: this.authorizerFunction.alias,
      identitySources: [apigateway.IdentitySource.header('Authorization')],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
    // Apple's devices call the pass's webServiceURL for years: the region's custom domain, mapped to this
    // stage at its root. Without one the wallet function has no PUBLIC_BASE_URL and refuses to make passes.
    if (props.apiDomain) {
      const domain = this.api.addDomainName('ApiDomain', {
        domainName: props.apiDomain.name,
        certificate: acm.Certificate.fromCertificateArn(
          this,
          'ApiCertificate',
          props.apiDomain.certificateArn,
        ),
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
      });
      this.functions.wallet.function.addEnvironment('PUBLIC_BASE_URL', walletBaseUrl(props.apiDomain.name));
      // Point the name at this (a CNAME or an alias record in the zone that holds the name).
      new CfnOutput(this, 'ApiDomainTarget', { value: domain.domainNameAliasDomainName });
    }
    // The portal's wallet button builds the same pass (its webServiceURL): the same custom domain.
    if (props.apiDomain) {
      this.functions.portal.function.addEnvironment('PUBLIC_BASE_URL', walletBaseUrl(props.apiDomain.name));
    }
    grantQueueDepthReads(this.functions.ops);

    const integrations = new Map<ApiFunctionName, apigateway.LambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        // One permission per method (scoped to that method's ARN); console test invokes are not allowed.
        integration = new apigateway.LambdaIntegration(this.functions[route.fn].alias, {
          proxy: true,
          allowTestInvoke: false,
        });
        integrations.set(route.fn, integration);
      }
      const resource = route.path === '/' ? this.api.root : this.api.root.resourceForPath(route.path);
      resource.addMethod(
        route.method,
        integration,
        usesAuthorizer(route)
          ? {
              authorizationType: apigateway.AuthorizationType.CUSTOM,
              authorizer,
              apiKeyRequired: true,
              requestValidator,
            }
          : { authorizationType: apigateway.AuthorizationType.NONE, requestValidator },
      );
    }

    if (props.consoleOrigin) this.addCorsPreflights(props.consoleOrigin);

    const plans = usagePlans(props.usagePlans);
    const stagePlans: Partial<Record<UsagePlanTier, apigateway.UsagePlan>> = {};
    for (const tier of USAGE_PLAN_TIERS) {
      const limits = plans[tier];
      stagePlans[tier] = this.api.addUsagePlan(`UsagePlan-${tier}`, {
        name: usagePlanName(planPrefix, tier),
        description: `Gift card API usage plan '${tier}' (functions/core/usage-plans.ts)`,
        throttle: { rateLimit: limits.rateLimit, burstLimit: limits.burstLimit },
        quota: { limit: limits.dailyQuota, period: apigateway.Period.DAY },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
    }
    this.usagePlans = stagePlans as Record<UsagePlanTier, apigateway.UsagePlan>;
    this.usagePlans.staff.addApiKey(
      new apigateway.ApiKey(this, 'StaffUsageKey', {
        apiKeyName: `${planPrefix}-staff`,
        description:
          'Usage plan key every staff token counts against (named by the authorizer; not a credential)',
        value: staffUsageKey,
      }),
    );

    for (const problem of GATEWAY_PROBLEMS) {
      const body = problemOf(problem.code, problem.detail, {
        requestId: '$context.requestId',
        ...('status' in problem ? { status: problem.status } : {}),
      });
      const headers: Record<string, string> = {
        ...('headers' in problem ? problem.headers : {}),
        // A refusal by API Gateway itself (authorizer, usage plan) is readable by the console too.
        ...(props.consoleOrigin
          ? { 'Access-Control-Allow-Origin': props.consoleOrigin, Vary: 'Origin' }
          : {}),
      };
      this.api.addGatewayResponse(problem.id, {
        type: apigateway.ResponseType.of(problem.type),
        statusCode: String(body.status),
        responseHeaders: Object.fromEntries(
          Object.entries({ 'Content-Type': 'application/problem+json', ...headers }).map(([name, value]) => [
            name,
            `'${value}'`,
          ]),
        ),
        templates: { 'application/json': JSON.stringify(body) },
      });
    }

    this.webAcl = new ApiWebAcl(this, 'WebAcl', {
      stageArn: this.api.deploymentStage.stageArn,
      name: `giftcard-api-${stage}-${this.region}`,
      metricPrefix: `giftcard-api-${stage}-${this.region}`,
    });
    this.stageAlarms = this.alarmOnStage(props.runtime);

    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level API Gateway logging role: API Gateway creates and writes its own execution log ' +
          'groups (API-Gateway-Execution-Logs_<api>/<stage>), so the AWS-maintained policy documented for ' +
          'this role is used rather than a hand-copied one that would need the same wildcards.',
      });
    }
    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-APIG4', reason: NO_AUTH_REASON },
      { id: 'AwsSolutions-COG4', reason: NO_COGNITO_AUTHORIZER_REASON },
    );

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
  }

  /**
   * Preflights (OPTIONS, a mock integration, no authorizer) for the console's origin only, on the resources
   * the web apps call: staff routes and the portal's. Merchant-only and Apple web service resources get
   * none (no browser calls them), which keeps the stack's resource count down (CloudFormation allows 500).
   */
  private addCorsPreflights(origin: string): void {
    const browserPaths = new Set(
      ROUTES.filter(
        (route) =>
          ('staff' in route.access && (route.access.staff?.length ?? 0) > 0) || route.fn === 'portal',
      ).map((route) => route.path),
    );
    for (const path of browserPaths) {
      this.api.root.resourceForPath(path).addCorsPreflight({
        allowOrigins: [origin],
        allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowHeaders: CORS_ALLOW_HEADERS,
        maxAge: Duration.hours(1),
      });
    }
  }

  /**
   * A route group's alarms, from the metrics its function emits (functions/http/api-handler.ts): 5xx rate,
   * p99 latency, 503 TIMED_OUT answers. All three roll a canary of the function back.
   */
  private alarmOnRouteGroup(
    fn: ApiFunctionName,
    group: GiftCardFunction,
    runtime: FunctionRuntime,
  ): cloudwatch.Alarm[] {
    const { region } = runtime;
    const minute = Duration.minutes(1);
    const requests = appMetric(region, METRIC.apiRequests, group.serviceName, { period: minute });
    const errors = appMetric(region, METRIC.apiServerErrors, group.serviceName, { period: minute });
    const rate = new cloudwatch.MathExpression({
      expression: `IF(requests >= ${ROUTE_GROUP_5XX.minRequestsPerMinute}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors },
      period: minute,
      label: `${fn} 5xx %`,
    });
    const alarms = [
      opsAlarm(group, 'ServerErrorRateAlarm', {
        region,
        name: `api-${fn}-5xx-rate`,
        runbook: 'api-5xx-rate',
        summary: `Route group ${fn}: too many 5xx answers.`,
        why: ROUTE_GROUP_5XX.why,
        metric: rate,
        threshold: ROUTE_GROUP_5XX.percent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: ROUTE_GROUP_5XX.evaluationPeriods,
        datapointsToAlarm: ROUTE_GROUP_5XX.datapointsToAlarm,
      }),
      opsAlarm(group, 'LatencyAlarm', {
        region,
        name: `api-${fn}-p99-latency`,
        runbook: 'api-latency',
        summary: `Route group ${fn}: p99 latency high.`,
        why: ROUTE_GROUP_P99.why,
        metric: appMetric(region, METRIC.apiLatency, group.serviceName, { period: minute, statistic: 'p99' }),
        threshold: ROUTE_GROUP_P99.milliseconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: ROUTE_GROUP_P99.evaluationPeriods,
        datapointsToAlarm: ROUTE_GROUP_P99.datapointsToAlarm,
      }),
      group.alarmOnMetric(
        METRIC.apiRequestTimedOut,
        'api-timeouts',
        `Route group ${fn}: requests answered 503 TIMED_OUT (the function ran out of time).`,
      ),
    ];
    for (const alarm of alarms) group.addRollbackAlarm(alarm);
    return alarms;
  }

  /** The stage as merchants see it (API Gateway's own metrics: authorizer and gateway errors included). */
  private alarmOnStage(runtime: FunctionRuntime): cloudwatch.Alarm[] {
    const { region } = runtime;
    const minute = Duration.minutes(1);
    return [
      opsAlarm(this, 'Stage5xxAlarm', {
        region,
        name: 'api-stage-5xx-rate',
        runbook: 'api-5xx-rate',
        summary: 'The API stage answers too many 5xx (API Gateway metrics).',
        why: STAGE_5XX.why,
        metric: this.api.metricServerError({ period: minute, statistic: cloudwatch.Stats.AVERAGE }),
        threshold: STAGE_5XX.fraction,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: STAGE_5XX.evaluationPeriods,
        datapointsToAlarm: STAGE_5XX.datapointsToAlarm,
      }),
      opsAlarm(this, 'StageLatencyAlarm', {
        region,
        name: 'api-stage-p99-latency',
        runbook: 'api-latency',
        summary: 'The API stage p99 latency is high (API Gateway metrics).',
        why: STAGE_P99.why,
        metric: this.api.metricLatency({ period: minute, statistic: 'p99' }),
        threshold: STAGE_P99.milliseconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: STAGE_P99.evaluationPeriods,
        datapointsToAlarm: STAGE_P99.datapointsToAlarm,
      }),
    ];
  }
}
