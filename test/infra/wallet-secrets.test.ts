import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegionStacks } from '../../lib/giftcard-app';
import {
  actionsOf,
  buildFirstRegion,
  envOf,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

/**
 * The wallet push credentials (APNs key, Google service account): KMS-encrypted secrets in the data
 * stack, readable by the wallet-sync consumer (both) and the Google save-link function (Google only), by
 * no other function.
 */
describe('wallet push secrets', () => {
  let set: RegionStacks;
  let data: Template;

  beforeAll(() => {
    set = buildFirstRegion();
    data = template(set.data);
  });

  const secretIds = () => {
    const secrets = resourcesOf(data, 'AWS::SecretsManager::Secret');
    const find = (word: string) =>
      Object.entries(secrets).find(([, secret]) => String(secret.Properties.Description).includes(word));
    return { apns: find('APNs'), google: find('Google Wallet') };
  };

  it('are KMS-encrypted with the data key, retained, and start as a placeholder the functions ignore', () => {
    const { apns, google } = secretIds();
    for (const entry of [apns, google]) {
      expect(entry).toBeDefined();
      const [, secret] = entry as [string, { Properties: Record<string, unknown>; DeletionPolicy?: string }];
      expect(refTarget(secret.Properties.KmsKeyId)).toMatch(/^DataKey/);
      expect(secret.DeletionPolicy).toBe('Retain');
      const generate = secret.Properties.GenerateSecretString as { SecretStringTemplate: string };
      expect(JSON.parse(generate.SecretStringTemplate)).toHaveProperty('placeholder');
    }
  });

  it('are read only by wallet-sync (both), the google-wallet API function and the portal (Google)', () => {
    const readers: Record<string, string[]> = {};
    for (const stack of [set.apiHandlers, set.api, set.streams, set.schedules]) {
      const t = template(stack);
      for (const fn of Object.values(resourcesOf(t, 'AWS::Lambda::Function'))) {
        const env = envOf(fn);
        const service = String(env.POWERTOOLS_SERVICE_NAME);
        const reads = statementsOfRole(t, refTarget(fn.Properties.Role))
          .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
          .map((statement) => JSON.stringify(statement.Resource));
        const names: string[] = [];
        if (reads.some((resource) => resource.includes('ApnsKey'))) names.push('apns');
        if (reads.some((resource) => resource.includes('GoogleServiceAccount'))) names.push('google');
        if (names.length > 0) readers[service] = names;
        if (names.includes('apns')) expect(env.APNS_KEY_SECRET_ID).toBeDefined();
        if (names.includes('google')) expect(env.GOOGLE_SERVICE_ACCOUNT_SECRET_ID).toBeDefined();
        if (!names.includes('apns')) expect(env.APNS_KEY_SECRET_ID).toBeUndefined();
      }
    }
    expect(readers).toEqual({
      'giftcard-stream-wallet-sync': ['apns', 'google'],
      'giftcard-api-google-wallet': ['google'],
      // The card-holder portal's Save to Google Wallet button.
      'giftcard-api-portal': ['google'],
    });
  });
});
