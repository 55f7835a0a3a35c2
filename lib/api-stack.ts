import { CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ErrorCode } from '../functions/core/errors';
import { problemOf } from '../functions/http/problem';
import { API_FUNCTIONS, type ApiFunctionName, ROUTES, routesOf } from '../functions/http/route-table';
import type { WalletSecretName } from '../functions/streams/registry';
import {
  FUNCTION_LOG_RETENTION,
  type FunctionRuntime,
  GiftCardFunction,
  grantWalletSecrets,
} from './constructs/function';
import { ApiWebAcl } from './constructs/web-acl';

export interface ApiStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** @default 'live' */
  readonly stageName?: string;
  /** Stage-wide steady-state request rate (requests per second). @default 500 */
  readonly throttlingRateLimit?: number;
  /** Stage-wide burst. @default 1000 */
  readonly throttlingBurstLimit?: number;
}

/** Table access per API function: the health check only reads. */
const TABLE_ACCESS: Record<ApiFunctionName, 'read' | 'readWrite'> = {
  system: 'read',
  programs: 'readWrite',
  merchants: 'readWrite',
  cards: 'readWrite',
  transactions: 'readWrite',
  webhooks: 'readWrite',
  fraud: 'readWrite',
  // Records that a card's Google object may exist (GOOGLEOBJECT), so the wallet-sync consumer updates it.
  'google-wallet': 'readWrite',
  wallet: 'readWrite',
};

/** Wallet secrets per API function: only the Google save link signs with the service account. */
const WALLET_SECRETS: Partial<Record<ApiFunctionName, readonly WalletSecretName[]>> = {
  'google-wallet': ['googleServiceAccount'],
  // Signs Apple Wallet passes; the only function that may read the pass certificate and key.
  wallet: ['applePassCertificates'],
};

/**
 * Errors API Gateway answers itself (before any handler runs), in the handlers' own problem+json shape
 * (functions/http/problem.ts, RFC 9457), so a client sees one error format whoever refused it.
 */
const GATEWAY_PROBLEMS: {
  id: string;
  type: apigateway.ResponseType;
  code: ErrorCode;
  detail: string;
  status?: number;
}[] = [
  // API Gateway answers an unknown path, or a method a path does not have, with 403 "Missing Authentication Token".
  {
    id: 'UnknownRoute',
    type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'NOT_FOUND',
    detail: 'No route matches this method and path.',
  },
  {
    id: 'Throttled',
    type: apigateway.ResponseType.THROTTLED,
    code: 'RATE_LIMITED',
    detail: 'Too many requests; retry later.',
  },
  {
    id: 'WafFiltered',
    type: apigateway.ResponseType.WAF_FILTERED,
    code: 'FORBIDDEN',
    detail: 'The request was refused by the firewall.',
  },
  {
    id: 'BadRequestBody',
    type: apigateway.ResponseType.BAD_REQUEST_BODY,
    code: 'VALIDATION_FAILED',
    detail: 'The request body is not valid.',
  },
  {
    id: 'BadRequestParameters',
    type: apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
    code: 'VALIDATION_FAILED',
    detail: 'A required request parameter is missing.',
  },
  {
    id: 'RequestTooLarge',
    type: apigateway.ResponseType.REQUEST_TOO_LARGE,
    code: 'PAYLOAD_TOO_LARGE',
    detail: 'The request is too large.',
  },
  {
    id: 'UnsupportedMediaType',
    type: apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    detail: 'The content type is not supported.',
  },
  {
    id: 'IntegrationTimeout',
    type: apigateway.ResponseType.INTEGRATION_TIMEOUT,
    code: 'INTERNAL',
    detail: 'The request timed out.',
    status: 504,
  },
  // Anything else on the gateway side is a bare 500: no internals.
  {
    id: 'Default5xx',
    type: apigateway.ResponseType.DEFAULT_5XX,
    code: 'INTERNAL',
    detail: 'An internal error occurred.',
  },
];

const NO_AUTH_REASON =
  'Authentication and authorisation are enforced in the handler, per route, from the one route table ' +
  '(functions/http/route-table.ts): merchant API keys are looked up by hash in DynamoDB and checked for ' +
  'scope and revocation, staff Cognito JWTs are verified against the pool JWKS and their groups checked ' +
  'against the route roles. An API Gateway authorizer could do neither check (hashed, scoped keys) and ' +
  'would duplicate the route table.';

/**
 * The HTTP API of one region: a REST API generated from ROUTES (one Lambda per route group, Lambda
 * proxy integration), with access logs, execution error logs, X-Ray, throttling, basic request
 * validation and a WAF web ACL.
 */
export class ApiStack extends Stack {
  readonly api: apigateway.RestApi;
  readonly functions: Record<ApiFunctionName, GiftCardFunction>;
  readonly accessLogs: logs.LogGroup;
  readonly webAcl: ApiWebAcl;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: FUNCTION_LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `giftcard-api-${this.region}`,
      description: 'Gift card platform HTTP API (generated from functions/http/route-table.ts)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
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

    const functions: Partial<Record<ApiFunctionName, GiftCardFunction>> = {};
    for (const fn of API_FUNCTIONS) {
      functions[fn] = new GiftCardFunction(this, `Fn-${fn}`, {
        runtime: props.runtime,
        entry: `api/${fn}.ts`,
        serviceName: `giftcard-api-${fn}`,
        description: `Gift card API '${fn}' handler: ${routesOf(fn).length} route(s) of functions/http/route-table.ts`,
        tableAccess: TABLE_ACCESS[fn],
      });
      grantWalletSecrets(functions[fn], props.runtime, WALLET_SECRETS[fn] ?? []);
    }
    this.functions = functions as Record<ApiFunctionName, GiftCardFunction>;
    // Apple's devices call the pass's webServiceURL: this stage's URL, built from the API id (the stage's own
    // url would make the function depend on the deployment, which depends on the function's methods).
    this.functions.wallet.function.addEnvironment(
      'PUBLIC_BASE_URL',
      `https://${this.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${props.stageName ?? 'live'}`,
    );

    const integrations = new Map<ApiFunctionName, apigateway.LambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        // One permission per method (scoped to that method's ARN); console test invokes are not allowed.
        integration = new apigateway.LambdaIntegration(this.functions[route.fn].function, {
          proxy: true,
          allowTestInvoke: false,
        });
        integrations.set(route.fn, integration);
      }
      const resource = route.path === '/' ? this.api.root : this.api.root.resourceForPath(route.path);
      resource.addMethod(route.method, integration, {
        authorizationType: apigateway.AuthorizationType.NONE,
        requestValidator,
      });
    }

    for (const problem of GATEWAY_PROBLEMS) {
      const body = problemOf(problem.code, problem.detail, {
        requestId: '$context.requestId',
        ...(problem.status ? { status: problem.status } : {}),
      });
      this.api.addGatewayResponse(problem.id, {
        type: problem.type,
        statusCode: String(body.status),
        responseHeaders: { 'Content-Type': "'application/problem+json'" },
        templates: { 'application/json': JSON.stringify(body) },
      });
    }

    this.webAcl = new ApiWebAcl(this, 'WebAcl', {
      stageArn: this.api.deploymentStage.stageArn,
      metricPrefix: `giftcard-api-${this.region}`,
    });

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
      { id: 'AwsSolutions-COG4', reason: NO_AUTH_REASON },
    );

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
  }
}
