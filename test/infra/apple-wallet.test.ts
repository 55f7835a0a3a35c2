import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../functions/http/route-table';
import type { RegionStacks } from '../../lib/giftcard-app';
import {
  actionsOf,
  buildFirstRegion,
  envOf,
  functionBehind,
  methodsByKey,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

/**
 * Apple Wallet in AWS: the pass certificate secret (KMS, data stack) is read by the `wallet` API function
 * and by no other; that function serves every wallet route (HEAD included) and knows its public URL.
 */
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

  it('lets only the wallet function read them, and tells it where they are and its public URL', () => {
    const readers: string[] = [];
    for (const stack of [set.api, set.streams, set.schedules]) {
      const t = template(stack);
      for (const fn of Object.values(resourcesOf(t, 'AWS::Lambda::Function'))) {
        const env = envOf(fn);
        const reads = statementsOfRole(t, refTarget(fn.Properties.Role))
          .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
          .some((statement) => JSON.stringify(statement.Resource).includes('ApplePassCertificates'));
        if (reads) readers.push(String(env.POWERTOOLS_SERVICE_NAME));
        if (!reads) expect(env.APPLE_PASS_SECRET_ID).toBeUndefined();
        else {
          expect(env.APPLE_PASS_SECRET_ID).toBeDefined();
          expect(JSON.stringify(env.PUBLIC_BASE_URL)).toContain('execute-api');
        }
      }
    }
    expect(readers).toEqual(['giftcard-api-wallet']);
  });

  it('serves every wallet route (HEAD of the pass too) from the wallet function, with pkpass as binary media', () => {
    const methods = methodsByKey(api);
    const functions = resourcesOf(api, 'AWS::Lambda::Function');
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
      expect(functionBehind(api, method?.Integration)).toBe(walletFn);
    }
    api.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['application/vnd.apple.pkpass', '*/*'],
    });
  });
});
