import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LocalRuntimeError } from './errors';
import { generateStaffSigningKey, type StaffSigningKey } from './staff-issuer';

/** The local runtime's secrets, generated once and kept in .local/secrets.json (git-ignored). */
export interface LocalSecrets {
  /** CODE_PEPPER: 64 hex characters. */
  readonly codePepper: string;
  readonly staffSigningKey: StaffSigningKey;
}

export const generateCodePepper = (): string => randomBytes(32).toString('hex');

export async function generateLocalSecrets(): Promise<LocalSecrets> {
  return { codePepper: generateCodePepper(), staffSigningKey: await generateStaffSigningKey() };
}

function isLocalSecrets(value: unknown): value is LocalSecrets {
  if (typeof value !== 'object' || value === null) return false;
  const { codePepper, staffSigningKey } = value as Record<string, unknown>;
  return (
    typeof codePepper === 'string' &&
    /^[0-9a-f]{64}$/.test(codePepper) &&
    typeof staffSigningKey === 'object' &&
    staffSigningKey !== null &&
    typeof (staffSigningKey as Record<string, unknown>).kid === 'string'
  );
}

/**
 * Reads the secrets file, creating it on first use. The pepper must stay the same as long as the data
 * does: card codes are stored only as HMACs under it.
 */
export async function loadOrCreateLocalSecrets(file: string): Promise<LocalSecrets> {
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      parsed = undefined;
    }
    if (!isLocalSecrets(parsed)) {
      throw new LocalRuntimeError(`${file} is not a valid secrets file; delete it and start with --fresh.`);
    }
    return parsed;
  }
  const secrets = await generateLocalSecrets();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
