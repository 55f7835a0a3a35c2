import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAFF_ROLES } from '../../functions/http/route-table';
import type { AuthStack } from '../../lib/auth-stack';
import { buildFirstRegion, FIRST_REGION, refTarget, resourcesOf, template } from './build';

describe('auth stack', () => {
  let t: Template;
  let auth: AuthStack;

  beforeAll(() => {
    auth = buildFirstRegion().auth;
    t = template(auth);
  });

  it('has one staff user pool: invitation only, strong passwords, TOTP MFA required, Plus tier with threat protection', () => {
    t.resourceCountIs('AWS::Cognito::UserPool', 1);
    t.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        Policies: {
          PasswordPolicy: Match.objectLike({
            MinimumLength: Match.anyValue(),
            RequireLowercase: true,
            RequireUppercase: true,
            RequireNumbers: true,
            RequireSymbols: true,
          }),
        },
        MfaConfiguration: 'ON',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        UserPoolTier: 'PLUS',
        UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
        DeletionProtection: 'ACTIVE',
      }),
    });
    const [pool] = Object.values(resourcesOf(t, 'AWS::Cognito::UserPool'));
    const policies = pool?.Properties.Policies as { PasswordPolicy?: { MinimumLength?: number } } | undefined;
    expect(policies?.PasswordPolicy?.MinimumLength).toBeGreaterThanOrEqual(12);
  });

  it('has one group per staff role of the route table', () => {
    const groups = Object.values(resourcesOf(t, 'AWS::Cognito::UserPoolGroup'));
    expect(groups.map((group) => group.Properties.GroupName).sort()).toEqual([...STAFF_ROLES].sort());
    const poolId = Object.keys(resourcesOf(t, 'AWS::Cognito::UserPool'))[0];
    for (const group of groups) expect(refTarget(group.Properties.UserPoolId)).toBe(poolId);
  });

  it("has one public (secretless) console client: the hosted UI's code flow back to the console, no implicit flow", () => {
    t.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    t.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_SRP_AUTH']),
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: Match.arrayWith(['openid', 'email']),
      SupportedIdentityProviders: ['COGNITO'],
    });
    const [client] = Object.values(resourcesOf(t, 'AWS::Cognito::UserPoolClient'));
    const callbacks = JSON.stringify(Stack.of(auth).resolve(client?.Properties.CallbackURLs));
    expect(callbacks).toContain('/console/callback');
    expect(callbacks).toContain('https://');
    expect(JSON.stringify(Stack.of(auth).resolve(client?.Properties.LogoutURLs))).toContain('/console/');
  });

  it('has a hosted UI domain (Cognito prefix) for the console sign-in', () => {
    t.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    const [domain] = Object.values(resourcesOf(t, 'AWS::Cognito::UserPoolDomain'));
    expect(JSON.stringify(domain?.Properties.Domain)).toContain(`giftcard-staff-${FIRST_REGION.region}-`);
    expect(auth.hostedUiBaseUrl).toBeDefined();
  });

  it('gives the functions the pool issuer, its JWKS URL and the client id as audience', () => {
    const issuer = `https://cognito-idp.${FIRST_REGION.region}.amazonaws.com/`;
    const poolId = Object.keys(resourcesOf(t, 'AWS::Cognito::UserPool'))[0];
    const clientId = Object.keys(resourcesOf(t, 'AWS::Cognito::UserPoolClient'))[0];
    const resolve = (value: string) => Stack.of(auth).resolve(value);
    expect(resolve(auth.staffAuth.issuer)).toEqual({ 'Fn::Join': ['', [issuer, { Ref: poolId }]] });
    expect(resolve(auth.staffAuth.jwksUrl)).toEqual({
      'Fn::Join': ['', [issuer, { Ref: poolId }, '/.well-known/jwks.json']],
    });
    expect(resolve(auth.staffAuth.audience)).toEqual({ Ref: clientId });
  });
});
