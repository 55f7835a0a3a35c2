import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { LocalRuntimeError } from './errors';

/**
 * Stand-in credentials for the wallet push channels under `npm start`: an APNs token-signing key (EC
 * P-256, like Apple's .p8) and a Google service account key (RSA 2048), generated once into
 * `.local/wallet-push.json` (git-ignored). The local stand-ins verify what is signed with them; nothing
 * here works against Apple or Google.
 */
export interface LocalPushCredentials {
  readonly apns: { teamId: string; keyId: string; privateKey: string; publicKey: string };
  readonly google: { client_email: string; private_key: string; issuerId: string; publicKey: string };
}

export async function generatePushCredentials(): Promise<LocalPushCredentials> {
  const apns = await generateKeyPair('ES256', { extractable: true });
  const google = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  return {
    apns: {
      teamId: 'LOCALTEAM1',
      keyId: 'LOCALKEY01',
      privateKey: await exportPKCS8(apns.privateKey),
      publicKey: await exportSPKI(apns.publicKey),
    },
    google: {
      client_email: 'wallet@giftcard-local.iam.gserviceaccount.com',
      private_key: await exportPKCS8(google.privateKey),
      issuerId: '3388000000000000001',
      publicKey: await exportSPKI(google.publicKey),
    },
  };
}

const isCredentials = (value: unknown): value is LocalPushCredentials => {
  const v = value as Partial<LocalPushCredentials> | null;
  return (
    typeof v?.apns?.privateKey === 'string' &&
    typeof v.apns.publicKey === 'string' &&
    typeof v.google?.private_key === 'string' &&
    typeof v.google.publicKey === 'string'
  );
};

export async function loadOrCreatePushCredentials(file: string): Promise<LocalPushCredentials> {
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      parsed = undefined;
    }
    if (!isCredentials(parsed))
      throw new LocalRuntimeError(`${file} is not valid; delete it to generate new keys.`);
    return parsed;
  }
  const credentials = await generatePushCredentials();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}

/** The secrets as the handlers read them (APNS_KEY_JSON, GOOGLE_SERVICE_ACCOUNT_JSON): no public keys. */
export function pushCredentialsJson(credentials: LocalPushCredentials): {
  apnsKeyJson: string;
  googleServiceAccountJson: string;
} {
  const { publicKey: _apnsPublic, ...apns } = credentials.apns;
  const { publicKey: _googlePublic, ...google } = credentials.google;
  return { apnsKeyJson: JSON.stringify(apns), googleServiceAccountJson: JSON.stringify(google) };
}
