import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../functions/http/route-table';
import { walletBaseUrl } from '../../lib/api-handlers-stack';
import { ConfigError, parseDeploymentConfig } from '../../lib/config';
import type { RegionStacks } from '../../lib/giftcard-app';
import {
  actionsOf,
  buildFirstRegion,
  buildTestApp,
  envOf,
  FIRST_REGION,
  functionBehind,
  methodsByKey,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

/**
 * Apple Wallet in AWS: the pass certificate secret (KMS, data stack) is read by the `wallet` API function
 * (signing) and the wallet-sync consumer (APNs certificate auth) and by no other; the wallet function
 * serves every wallet route (HEAD included) and puts the region's custom domain in its passes.
 */
const FIRST_REGION_DOMAIN = (FIRST_REGION as { apiDomain?: { name: string } }).apiDomain?.name;

describe('Apple Wallet infrastructure', () => {
  let set: RegionStacks;
  let api: Template;

  beforeAll(() => {
    set = buildFirstRegion();
    api = template(set.api);
  });

  it('keeps the pass certificates in a KMS-encrypted, retained secret of the data stack', () => {
    const secrets = resourcesOf(template(set.data), 'AWS::SecretsManager::Secret');
    const apple = Object.entries(secrets).filter(([id]) => id.startsWith('ApplePassCertificates'));
    expect(apple).toHaveLength(1);
    const [, secret] = apple[0] as [string, { Properties: Record<string, unknown>; DeletionPolicy?: string }];
    expect(refTarget(secret.Properties.KmsKeyId)).toMatch(/^DataKey/);
    expect(secret.DeletionPolicy).toBe('Retain');
  });

  it('lets only the wallet function (signing), wallet-sync (APNs) and the portal (the holder’s Add to Apple Wallet) read them; passes point at the custom domain', () => {
    const readers: string[] = [];
    for (const stack of [set.apiHandlers, set.api, set.streams, set.schedules]) {
      const t = template(stack);
      for (const fn of Object.values(resourcesOf(t, 'AWS::Lambda::Function'))) {
        const env = envOf(fn);
        const reads = statementsOfRole(t, refTarget(fn.Properties.Role))
          .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
          .some((statement) => JSON.stringify(statement.Resource).includes('ApplePassCertificates'));
        if (reads) readers.push(String(env.POWERTOOLS_SERVICE_NAME));
        if (!reads) expect(env.APPLE_PASS_SECRET_ID).toBeUndefined();
        else expect(env.APPLE_PASS_SECRET_ID).toBeDefined();
        if (env.POWERTOOLS_SERVICE_NAME === 'giftcard-api-wallet') {
          // A stable name from cdk.json, never the execute-api id of this API's life.
          expect(env.PUBLIC_BASE_URL).toBe(`https://${FIRST_REGION_DOMAIN}`);
        }
      }
    }
    expect(readers.sort()).toEqual([
      'giftcard-api-portal',
      'giftcard-api-wallet',
      'giftcard-stream-wallet-sync',
    ]);
  });

  it('maps the custom domain (its certificate from cdk.json, TLS 1.2) to the stage and names its DNS target', () => {
    const [domain] = Object.values(resourcesOf(api, 'AWS::ApiGateway::DomainName'));
    expect(domain?.Properties).toMatchObject({
      DomainName: FIRST_REGION_DOMAIN,
      RegionalCertificateArn: (FIRST_REGION as unknown as { apiDomain: { certificateArn: string } }).apiDomain
        .certificateArn,
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'TLS_1_2',
    });
    expect(Object.keys(resourcesOf(api, 'AWS::ApiGateway::BasePathMapping'))).toHaveLength(1);
    expect(Object.keys(api.findOutputs('ApiDomainTarget'))).toHaveLength(1);
  });

  it('offers no Apple passes in a region without a custom domain, and refuses a name with a scheme', () => {
    const { apiDomain: _domain, ...bare } = FIRST_REGION as Record<string, unknown>;
    const [set] = buildTestApp({ regions: [bare], nag: false }).sets;
    const walletFn = Object.values(
      resourcesOf(template(set?.apiHandlers as never), 'AWS::Lambda::Function'),
    ).find((fn) => envOf(fn).POWERTOOLS_SERVICE_NAME === 'giftcard-api-wallet');
    expect(walletFn && envOf(walletFn).PUBLIC_BASE_URL).toBeUndefined();
    expect(() =>
      parseDeploymentConfig({
        regions: [
          {
            ...bare,
            apiDomain: {
              ...(FIRST_REGION as unknown as { apiDomain: object }).apiDomain,
              name: 'http://api.example.com',
            },
          },
        ],
      }),
    ).toThrow(ConfigError);
    expect(() =>
      parseDeploymentConfig({
        regions: [
          {
            ...bare,
            apiDomain: {
              name: 'api.example.com',
              certificateArn:
                'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000002',
            },
          },
        ],
      }),
    ).toThrow(/must be a certificate of us-east-1/);
    expect(() => walletBaseUrl('api.example.com/x')).toThrow();
  });

  it('refuses to deploy a region whose custom domain is missing or still the example, and builds it offline', () => {
    const { apiDomain: domain, ...bare } = FIRST_REGION as Record<string, unknown>;
    const region = String(bare.region);
    const real = {
      name: 'api.giftcards.acme-retail.net',
      certificateArn: `arn:aws:acm:${region}:210987654321:certificate/3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b`,
    };
    const deploy = (apiDomain: unknown) => () =>
      parseDeploymentConfig({
        regions: [{ ...bare, ...(apiDomain ? { apiDomain } : {}) }],
        deployRegion: region,
      });
    // cdk.json ships example names and ARNs: synth and tests build them; a deploy of them is refused.
    expect(parseDeploymentConfig({ regions: [FIRST_REGION] }).regions).toHaveLength(1);
    expect(deploy(domain)).toThrow(/apiDomain\.name api\..*example\.com is an example name/);
    expect(deploy(undefined)).toThrow(/has no "apiDomain"/);
    expect(
      deploy({ ...real, certificateArn: (domain as { certificateArn: string }).certificateArn }),
    ).toThrow(/certificateArn is the example ARN/);
    expect(deploy(real)().regions[0]?.apiDomain).toEqual(real);
    expect(() => parseDeploymentConfig({ regions: [FIRST_REGION], deployRegion: 'ap-south-9' })).toThrow(
      /does not configure it/,
    );
  });

  it('serves every wallet route (HEAD of the pass too) from the wallet function, with pkpass as binary media', () => {
    const methods = methodsByKey(api);
    const handlers = template(set.apiHandlers);
    const functions = resourcesOf(handlers, 'AWS::Lambda::Function');
    const walletFn = Object.entries(functions).find(
      ([, fn]) => envOf(fn).POWERTOOLS_SERVICE_NAME === 'giftcard-api-wallet',
    )?.[0];
    expect(walletFn).toBeDefined();
    const routes = routesOf('wallet');
    expect(routes.map((route) => route.method)).toContain('HEAD');
    for (const route of routes) {
      const method = methods.get(`${route.method} ${route.path}`);
      expect(method, `${route.method} ${route.path}`).toBeDefined();
      // Through the wallet function's live alias.
      expect(functionBehind(api, method?.Integration, handlers)).toBe(walletFn);
    }
    api.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['application/vnd.apple.pkpass', '*/*'],
    });
  });
});
