import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../functions/core/errors';
import {
  AUTHORIZER_CACHE_SECONDS,
  DEFAULT_USAGE_PLANS,
  USAGE_PLAN_TIERS,
} from '../../functions/core/usage-plans';
import { usesAuthorizer } from '../../functions/http/gateway';
import { problemOf } from '../../functions/http/problem';
import { API_FUNCTIONS, ROUTES, routeKey } from '../../functions/http/route-table';
import {
  actionsOf,
  buildFirstRegion,
  buildTestApp,
  envOf,
  FIRST_REGION,
  functionBehind,
  methodKeys,
  methodsByKey,
  refTarget,
  resourcesOf,
  routesWithoutMethod,
  statementsOfRole,
  template,
} from './build';

describe('api stack', () => {
  let t: Template;
  /** The route groups' functions (the handlers' stack); the authorizer is the API stack's own. */
  let handlers: Template;

  beforeAll(() => {
    const set = buildFirstRegion();
    t = template(set.api);
    handlers = template(set.apiHandlers);
  });

  /** Logical id of the Lambda function serving route group `fn`. */
  const functionOf = (fn: string): string => {
    const matches = [t, handlers]
      .flatMap((stack) => Object.entries(resourcesOf(stack, 'AWS::Lambda::Function')))
      .filter(([, resource]) => envOf(resource).POWERTOOLS_SERVICE_NAME === `giftcard-api-${fn}`);
    expect(matches).toHaveLength(1);
    return matches[0]?.[0] as string;
  };

  it('has a method for every route of the route table, and nothing else but CORS preflights', () => {
    expect(routesWithoutMethod(t, ROUTES)).toEqual([]);
    const methods = [...methodKeys(t)];
    expect(methods.filter((key) => !key.startsWith('OPTIONS ')).sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it("answers CORS preflights for the web apps' origin only, without the authorizer", () => {
    const preflights = [...methodsByKey(t).entries()].filter(([key]) => key.startsWith('OPTIONS '));
    const browserPaths = new Set(
      ROUTES.filter(
        (route) =>
          ('staff' in route.access && (route.access.staff?.length ?? 0) > 0) || route.fn === 'portal',
      ).map((route) => route.path),
    );
    for (const path of browserPaths) expect(methodKeys(t).has(`OPTIONS ${path}`), path).toBe(true);
    // No preflight where no browser calls: Apple's web service, merchant-only routes.
    expect(methodKeys(t).has('OPTIONS /wallet/apple/v1/log')).toBe(false);
    expect(methodKeys(t).has('OPTIONS /v1/webhooks/{webhookId}/rotate-secret')).toBe(false);
    for (const [key, method] of preflights) {
      expect(method.AuthorizationType, key).toBe('NONE');
      expect(method.ApiKeyRequired ?? false, key).toBe(false);
      const integration = JSON.stringify(method.Integration);
      // The origin is the web stack's site (a cross-stack value), never a wildcard.
      expect(integration, key).toContain('Access-Control-Allow-Origin');
      expect(integration, key).not.toContain("'*'");
      expect(integration, key).toContain('Idempotency-Key');
    }
  });

  it('reports a route that has no method (the coverage check can fail)', () => {
    const extra = { method: 'POST', path: '/v1/cards/{cardId}/teleport' };
    expect(routesWithoutMethod(t, [...ROUTES, extra])).toEqual(['POST /v1/cards/{cardId}/teleport']);
  });

  it('alarms when any API function answers 503 TIMED_OUT (the metric each route group emits)', () => {
    const alarms = Object.values(resourcesOf(handlers, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'ApiRequestTimedOut',
    );
    expect(alarms).toHaveLength(API_FUNCTIONS.length);
    for (const fn of API_FUNCTIONS) {
      expect(
        alarms.some((alarm) => JSON.stringify(alarm.Properties.Dimensions).includes(`"giftcard-api-${fn}"`)),
        fn,
      ).toBe(true);
    }
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'GiftCard/prod',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('has one function per route group (in the handlers’ stack), and the authorizer', () => {
    handlers.resourceCountIs('AWS::Lambda::Function', API_FUNCTIONS.length);
    t.resourceCountIs('AWS::Lambda::Function', 1);
    for (const fn of API_FUNCTIONS) functionOf(fn);
    functionOf('authorizer');
  });

  it('sends every route to its own group function by Lambda proxy; merchant and staff routes through the authorizer with an API key', () => {
    const validators = Object.keys(resourcesOf(t, 'AWS::ApiGateway::RequestValidator'));
    expect(validators).toHaveLength(1);
    const [authorizer] = Object.keys(resourcesOf(t, 'AWS::ApiGateway::Authorizer'));
    const methods = methodsByKey(t);
    for (const route of ROUTES) {
      const method = methods.get(routeKey(route));
      expect(method, routeKey(route)).toBeDefined();
      if (route.access.public || route.access.passToken || (route.access.member && !route.access.staff)) {
        // Public routes, and Apple's PassKit web service (devices send `ApplePass <token>`, checked by the
        // wallet function), and members' routes (sessions checked by the members function): no authorizer,
        // no usage plan.
        expect(usesAuthorizer(route), routeKey(route)).toBe(false);
        expect(method?.AuthorizationType, routeKey(route)).toBe('NONE');
        expect(method?.ApiKeyRequired ?? false, routeKey(route)).toBe(false);
      } else {
        expect(usesAuthorizer(route), routeKey(route)).toBe(true);
        expect(method?.AuthorizationType, routeKey(route)).toBe('CUSTOM');
        expect(refTarget(method?.AuthorizerId), routeKey(route)).toBe(authorizer);
        expect(method?.ApiKeyRequired, routeKey(route)).toBe(true);
      }
      expect(refTarget(method?.RequestValidatorId)).toBe(validators[0]);
      expect(method?.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      // The integration URI names the live alias of the route's group function.
      expect(functionBehind(t, method?.Integration, handlers), routeKey(route)).toBe(functionOf(route.fn));
    }
  });

  it('lets only this API invoke each function: one permission per function, and one for the authorizer', () => {
    const permissions = Object.values(resourcesOf(t, 'AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(API_FUNCTIONS.length + 1);
    const invoked = new Set<string | undefined>();
    for (const permission of permissions) {
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
      });
      const arn = JSON.stringify(permission.Properties.SourceArn);
      // The authorizer's own permission names the authorizer.
      if (arn.includes('/authorizers/')) continue;
      // This REST API's ARN (any stage, method and path of it), never another API's.
      expect(arn).toMatch(/:execute-api:.*\{"Ref":"Api[A-F0-9]{8}"\},"\/\*\/\*\/\*"/);
      invoked.add(functionBehind(t, permission.Properties.FunctionName, handlers));
    }
    expect([...invoked].sort()).toEqual(API_FUNCTIONS.map(functionOf).sort());
  });

  it('is a regional REST API with binary media for wallet passes and a CloudWatch role', () => {
    t.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['application/vnd.apple.pkpass', '*/*'],
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
    t.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
  });

  it('has a stage with access logs, X-Ray, throttling and error logging without request data', () => {
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: Match.anyValue(),
          ThrottlingBurstLimit: Match.anyValue(),
        }),
      ],
    });
    const [stage] = Object.values(resourcesOf(t, 'AWS::ApiGateway::Stage'));
    const format = String((stage?.Properties.AccessLogSetting as { Format?: string } | undefined)?.Format);
    // No header values in access logs: they carry API keys and bearer tokens.
    expect(format).not.toMatch(/\$context\.(authorizer|identity\.apiKey)|\$input|\$method\.request\.header/);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it("answers unknown routes, throttling and gateway errors in the handlers' problem+json shape", () => {
    const responses = Object.values(resourcesOf(t, 'AWS::ApiGateway::GatewayResponse'));
    const byType = new Map(
      responses.map((response) => [response.Properties.ResponseType, response.Properties]),
    );
    const expected: [string, string, ErrorCode, Record<string, string>?][] = [
      ['MISSING_AUTHENTICATION_TOKEN', '404', 'NOT_FOUND'],
      ['UNAUTHORIZED', '401', 'UNAUTHENTICATED', { 'WWW-Authenticate': "'Bearer'" }],
      ['ACCESS_DENIED', '403', 'FORBIDDEN'],
      ['INVALID_API_KEY', '403', 'FORBIDDEN'],
      ['THROTTLED', '429', 'RATE_LIMITED', { 'Retry-After': "'1'" }],
      ['QUOTA_EXCEEDED', '429', 'RATE_LIMITED'],
      ['WAF_FILTERED', '403', 'FORBIDDEN'],
      ['BAD_REQUEST_BODY', '400', 'VALIDATION_FAILED'],
      ['AUTHORIZER_FAILURE', '500', 'INTERNAL'],
      ['DEFAULT_5XX', '500', 'INTERNAL'],
    ];
    for (const [type, status, code, headers = {}] of expected) {
      const response = byType.get(type);
      expect(response, type).toBeDefined();
      expect(response?.StatusCode).toBe(status);
      expect(response?.ResponseParameters, type).toEqual({
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
        // The console reads API Gateway's own refusals too (its origin only).
        'gatewayresponse.header.Access-Control-Allow-Origin': expect.anything(),
        'gatewayresponse.header.Vary': "'Origin'",
        ...Object.fromEntries(
          Object.entries(headers).map(([name, value]) => [`gatewayresponse.header.${name}`, value]),
        ),
      });
      const templates = response?.ResponseTemplates as Record<string, string> | undefined;
      const body = JSON.parse(templates?.['application/json'] ?? '{}');
      const reference = problemOf(code, 'x');
      expect(body).toMatchObject({
        type: reference.type,
        title: reference.title,
        status: Number(status),
        code,
      });
      expect(body.requestId).toBe('$context.requestId');
    }
  });

  it('puts a regional WAF web ACL (managed common rules + per-IP rate limit) in front of the stage', () => {
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({
          Statement: {
            RateBasedStatement: Match.objectLike({ AggregateKeyType: 'IP', Limit: Match.anyValue() }),
          },
          Action: { Block: {} },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: Match.objectLike({
              VendorName: 'AWS',
              Name: 'AWSManagedRulesCommonRuleSet',
            }),
          },
        }),
      ]),
    });
    const acl = Object.keys(resourcesOf(t, 'AWS::WAFv2::WebACL'))[0];
    const stage = Object.keys(resourcesOf(t, 'AWS::ApiGateway::Stage'))[0];
    const api = Object.keys(resourcesOf(t, 'AWS::ApiGateway::RestApi'))[0];
    const associations = Object.values(resourcesOf(t, 'AWS::WAFv2::WebACLAssociation'));
    expect(associations).toHaveLength(1);
    const association = associations[0]?.Properties as Record<string, unknown>;
    expect(refTarget(association.WebACLArn)).toBe(acl);
    const arn = JSON.stringify(association.ResourceArn);
    expect(arn).toContain(':apigateway:');
    expect(arn).toContain(`{"Ref":"${api}"}`);
    expect(arn).toContain(`/stages/",{"Ref":"${stage}"}`);
  });

  it('takes API keys from the authorizer: a REQUEST authorizer on the Authorization header, cached briefly', () => {
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
    const authorizers = Object.values(resourcesOf(t, 'AWS::ApiGateway::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const authorizer = authorizers[0]?.Properties;
    expect(authorizer).toMatchObject({
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_SECONDS,
    });
    expect(AUTHORIZER_CACHE_SECONDS).toBeLessThanOrEqual(60);
    expect(functionBehind(t, authorizer?.AuthorizerUri)).toBe(functionOf('authorizer'));
  });

  it('has a usage plan per tier with its throttle and daily quota, on the stage, and the staff key in the staff plan', () => {
    const plans = Object.entries(resourcesOf(t, 'AWS::ApiGateway::UsagePlan'));
    expect(plans).toHaveLength(USAGE_PLAN_TIERS.length);
    const [stage] = Object.keys(resourcesOf(t, 'AWS::ApiGateway::Stage'));
    const planIdOf: Record<string, string> = {};
    for (const tier of USAGE_PLAN_TIERS) {
      const found = plans.find(
        ([, plan]) => plan.Properties.UsagePlanName === `giftcard-api-prod-${FIRST_REGION.region}-${tier}`,
      );
      expect(found, tier).toBeDefined();
      const [id, plan] = found as [string, (typeof plans)[number][1]];
      planIdOf[tier] = id;
      expect(plan.Properties).toMatchObject({
        Throttle: {
          RateLimit: DEFAULT_USAGE_PLANS[tier].rateLimit,
          BurstLimit: DEFAULT_USAGE_PLANS[tier].burstLimit,
        },
        Quota: { Limit: DEFAULT_USAGE_PLANS[tier].dailyQuota, Period: 'DAY' },
      });
      const stages = plan.Properties.ApiStages as { Stage: unknown }[];
      expect(stages.map((entry) => refTarget(entry.Stage))).toEqual([stage]);
    }
    const keys = Object.entries(resourcesOf(t, 'AWS::ApiGateway::ApiKey'));
    expect(keys).toHaveLength(1);
    const [staffKeyId, staffKey] = keys[0] as (typeof keys)[number];
    const memberships = Object.values(resourcesOf(t, 'AWS::ApiGateway::UsagePlanKey'));
    expect(
      memberships.map((m) => [refTarget(m.Properties.UsagePlanId), refTarget(m.Properties.KeyId)]),
    ).toEqual([[planIdOf.staff, staffKeyId]]);
    // The authorizer names the staff key by its value; the merchants function finds plans by name.
    const functions = {
      ...resourcesOf(t, 'AWS::Lambda::Function'),
      ...resourcesOf(handlers, 'AWS::Lambda::Function'),
    };
    expect(envOf(functions[functionOf('authorizer')]).STAFF_USAGE_KEY).toBe(staffKey.Properties.Value);
    expect(envOf(functions[functionOf('merchants')]).USAGE_PLAN_PREFIX).toBe(
      `giftcard-api-prod-${FIRST_REGION.region}`,
    );
  });

  it('lets only the merchants function manage usage plan keys', () => {
    for (const fn of [...API_FUNCTIONS, 'authorizer']) {
      const stack = fn === 'authorizer' ? t : handlers;
      const role = refTarget(resourcesOf(stack, 'AWS::Lambda::Function')[functionOf(fn)]?.Properties.Role);
      const actions = statementsOfRole(stack, role).flatMap(actionsOf);
      const gateway = actions.filter((action) => action.startsWith('apigateway:')).sort();
      if (fn === 'merchants') {
        expect([...new Set(gateway)]).toEqual(['apigateway:DELETE', 'apigateway:GET', 'apigateway:POST']);
      } else expect(gateway, fn).toEqual([]);
    }
  });

  it('takes usage plan figures per region from the deployment config', () => {
    const { sets } = buildTestApp({
      regions: [{ ...FIRST_REGION, usagePlans: { standard: { burstLimit: 7 }, staff: { dailyQuota: 9 } } }],
      nag: false,
    });
    const plans = Object.values(
      resourcesOf(template((sets[0] as (typeof sets)[number]).api), 'AWS::ApiGateway::UsagePlan'),
    );
    const byName = new Map(plans.map((plan) => [plan.Properties.UsagePlanName, plan.Properties]));
    expect(byName.get(`giftcard-api-prod-${FIRST_REGION.region}-standard`)).toMatchObject({
      Throttle: { RateLimit: DEFAULT_USAGE_PLANS.standard.rateLimit, BurstLimit: 7 },
    });
    expect(byName.get(`giftcard-api-prod-${FIRST_REGION.region}-staff`)).toMatchObject({
      Quota: { Limit: 9 },
    });
  });
});
