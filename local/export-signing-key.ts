import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The local stand-in for the exports' KMS signing key (functions/store/export-signer.ts): a P-256 key
 * generated once into the local data directory (git-ignored, readable by the owner only) and kept, so
 * every month's export under npm start is signed by the same key and continuity can be checked.
 */
export function loadOrCreateExportSigningKey(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, pem, { mode: 0o600 });
  return pem;
}
