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
import { type ApiFunctionName, ROUTES } from '../functions/http/route-table';
import type { ApiHandlersStack } from './api-handlers-stack';
import { FUNCTION_LOG_RETENTION, type FunctionRuntime, GiftCardFunction } from './constructs/function';
import { usagePlanPrefix } from './constructs/usage-keys';
import { ApiWebAcl } from './constructs/web-acl';
import { opsAlarm } from './monitoring/ops-alarm';
import { STAGE_5XX, STAGE_P99 } from './monitoring/thresholds';

export interface ApiStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** The route groups' functions (lib/api-handlers-stack.ts). */
  readonly handlers: ApiHandlersStack;
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

/** What the console and the portal send and read across origins. */
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'];

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
    this.functions = props.handlers.functions;

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
    // stage at its root (the handlers' PUBLIC_BASE_URL, lib/api-handlers-stack.ts).
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
      // Point the name at this (a CNAME or an alias record in the zone that holds the name).
      new CfnOutput(this, 'ApiDomainTarget', { value: domain.domainNameAliasDomainName });
    }

    const integrations = new Map<ApiFunctionName, apigateway.LambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        // One invoke permission per function, for this API only (any of its stages, methods and paths): a
        // permission per method would cost the stack a resource per route (CloudFormation allows 500).
        integration = new apigateway.LambdaIntegration(this.functions[route.fn].alias, {
          proxy: true,
          scopePermissionToMethod: false,
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
