import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../functions/core/errors';
import { problemOf } from '../../functions/http/problem';
import { API_FUNCTIONS, ROUTES, routeKey } from '../../functions/http/route-table';
import {
  buildFirstRegion,
  envOf,
  methodKeys,
  methodsByKey,
  refTarget,
  resourcesOf,
  routesWithoutMethod,
  template,
} from './build';

describe('api stack', () => {
  let t: Template;

  beforeAll(() => {
    t = template(buildFirstRegion().api);
  });

  /** Logical id of the Lambda function serving route group `fn`. */
  const functionOf = (fn: string): string => {
    const matches = Object.entries(resourcesOf(t, 'AWS::Lambda::Function')).filter(
      ([, resource]) => envOf(resource).POWERTOOLS_SERVICE_NAME === `giftcard-api-${fn}`,
    );
    expect(matches).toHaveLength(1);
    return matches[0]?.[0] as string;
  };

  it('has a method for every route of the route table, and nothing else', () => {
    expect(routesWithoutMethod(t, ROUTES)).toEqual([]);
    expect([...methodKeys(t)].sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('reports a route that has no method (the coverage check can fail)', () => {
    const extra = { method: 'POST', path: '/v1/cards/{cardId}/teleport' };
    expect(routesWithoutMethod(t, [...ROUTES, extra])).toEqual(['POST /v1/cards/{cardId}/teleport']);
  });

  it('has one function per route group', () => {
    t.resourceCountIs('AWS::Lambda::Function', API_FUNCTIONS.length);
    for (const fn of API_FUNCTIONS) functionOf(fn);
  });

  it('sends every route to its own group function by Lambda proxy, without an API Gateway authorizer', () => {
    const validators = Object.keys(resourcesOf(t, 'AWS::ApiGateway::RequestValidator'));
    expect(validators).toHaveLength(1);
    const methods = methodsByKey(t);
    for (const route of ROUTES) {
      const method = methods.get(routeKey(route));
      expect(method, routeKey(route)).toBeDefined();
      expect(method?.AuthorizationType).toBe('NONE');
      expect(refTarget(method?.RequestValidatorId)).toBe(validators[0]);
      expect(method?.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      // The integration URI names the function of the route's group.
      expect(JSON.stringify(method?.Integration), routeKey(route)).toContain(`"${functionOf(route.fn)}"`);
    }
  });

  it('lets API Gateway invoke each function only through its own methods', () => {
    const permissions = Object.values(resourcesOf(t, 'AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(ROUTES.length);
    for (const permission of permissions) {
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
      });
      // Scoped to one stage, method and path: the stage is a reference and the method a verb, never `*`
      // (path parameters are `*`, and two in a row read `/*/*`, as in Apple's registration path).
      const arn = JSON.stringify(permission.Properties.SourceArn);
      expect(arn).toMatch(/\{"Ref":"ApiDeploymentStage\w+"\},"\/(GET|HEAD|POST|PUT|PATCH|DELETE)\//);
    }
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
    const expected: [string, string, ErrorCode][] = [
      ['MISSING_AUTHENTICATION_TOKEN', '404', 'NOT_FOUND'],
      ['THROTTLED', '429', 'RATE_LIMITED'],
      ['WAF_FILTERED', '403', 'FORBIDDEN'],
      ['BAD_REQUEST_BODY', '400', 'VALIDATION_FAILED'],
      ['DEFAULT_5XX', '500', 'INTERNAL'],
    ];
    for (const [type, status, code] of expected) {
      const response = byType.get(type);
      expect(response, type).toBeDefined();
      expect(response?.StatusCode).toBe(status);
      expect(response?.ResponseParameters).toEqual({
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
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
});
