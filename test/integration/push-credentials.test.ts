import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apnsKey, googleServiceAccount } from '../../functions/store/push-credentials';
import { generatePushCredentials, pushCredentialsJson } from '../../local/push-credentials';
import { resetHandlerState } from '../support/reset';
import { testEnv } from '../support/table';

/** Wallet push credentials as the functions read them: absent or the stack's placeholder is "off". */
let json: { apnsKeyJson: string; googleServiceAccountJson: string };

beforeAll(async () => {
  await testEnv();
  json = pushCredentialsJson(await generatePushCredentials());
});

afterEach(() => {
  delete process.env.APNS_KEY_JSON;
  delete process.env.GOOGLE_SERVICE_ACCOUNT_JSON;
  resetHandlerState();
});

const use = (variables: Record<string, string>) => {
  Object.assign(process.env, variables);
  resetHandlerState();
};

describe('wallet push credentials', () => {
  it('reads the APNs key and the Google service account', async () => {
    use({ APNS_KEY_JSON: json.apnsKeyJson, GOOGLE_SERVICE_ACCOUNT_JSON: json.googleServiceAccountJson });
    expect(await apnsKey()).toMatchObject({ teamId: 'LOCALTEAM1', keyId: 'LOCALKEY01' });
    expect(await googleServiceAccount()).toMatchObject({ issuerId: '3388000000000000001' });
  });

  it('treats no value and the stack placeholder as not configured', async () => {
    expect(await apnsKey()).toBeUndefined();
    use({
      APNS_KEY_JSON: JSON.stringify({
        placeholder: 'put the real credential JSON here',
        placeholderNonce: 'x',
      }),
      GOOGLE_SERVICE_ACCOUNT_JSON: '{}',
    });
    expect(await apnsKey()).toBeUndefined();
    expect(await googleServiceAccount()).toBeUndefined();
  });

  it('refuses a malformed value without quoting it', async () => {
    const secret = 'MIGHAgEAMBMGByqGSM49-secret-material';
    use({ APNS_KEY_JSON: JSON.stringify({ teamId: 'x', keyId: 'y', privateKey: secret }) });
    const error = await apnsKey().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/teamId/);
    expect((error as Error).message).not.toContain(secret);
    use({ GOOGLE_SERVICE_ACCOUNT_JSON: `not json ${secret}` });
    const notJson = await googleServiceAccount().catch((e: unknown) => e as Error);
    expect((notJson as Error).message).not.toContain(secret);
  });
});
