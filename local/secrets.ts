import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FIRST_PEPPER_ID, MAX_PEPPERS, pepperSetFrom } from '../functions/store/code-peppers';
import { LocalRuntimeError } from './errors';
import { generateStaffSigningKey, type StaffSigningKey } from './staff-issuer';

/**
 * The local runtime's secrets, generated once and kept in .local/secrets.json (git-ignored). In the file
 * `codePepper` is 64 hex characters, or, after `npm run rotate-pepper`, the pepper set
 * `{ current, peppers, sealing? }` (functions/store/code-peppers.ts).
 */
export interface LocalSecrets {
  /** CODE_PEPPER as the handlers read it: the single pepper, or the pepper set as JSON. */
  readonly codePepper: string;
  readonly staffSigningKey: StaffSigningKey;
}

export const generateCodePepper = (): string => randomBytes(32).toString('hex');

export async function generateLocalSecrets(): Promise<LocalSecrets> {
  return { codePepper: generateCodePepper(), staffSigningKey: await generateStaffSigningKey() };
}

/** The file's pepper (a plain one, or a set that parses) as CODE_PEPPER, or undefined when invalid. */
function codePepperOf(stored: unknown): string | undefined {
  if (typeof stored === 'string') return /^[0-9a-f]{64}$/.test(stored) ? stored : undefined;
  try {
    pepperSetFrom(stored);
    return JSON.stringify(stored);
  } catch {
    return undefined;
  }
}

function localSecretsFrom(value: unknown): LocalSecrets | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { codePepper, staffSigningKey } = value as Record<string, unknown>;
  const pepper = codePepperOf(codePepper);
  if (
    pepper === undefined ||
    typeof staffSigningKey !== 'object' ||
    staffSigningKey === null ||
    typeof (staffSigningKey as Record<string, unknown>).kid !== 'string'
  )
    return undefined;
  return { codePepper: pepper, staffSigningKey: staffSigningKey as StaffSigningKey };
}

function readSecretsFile(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return localSecretsFrom(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const writeSecretsFile = (file: string, content: unknown) =>
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });

/**
 * Reads the secrets file, creating it on first use. The pepper must stay the same as long as the data
 * does: card codes are stored only as HMACs under it.
 */
export async function loadOrCreateLocalSecrets(file: string): Promise<LocalSecrets> {
  if (existsSync(file)) {
    const stored = readSecretsFile(file);
    const secrets = stored && localSecretsFrom(stored);
    if (!secrets) {
      throw new LocalRuntimeError(`${file} is not a valid secrets file; delete it and start with --fresh.`);
    }
    return secrets;
  }
  const secrets = await generateLocalSecrets();
  mkdirSync(dirname(file), { recursive: true });
  writeSecretsFile(file, secrets);
  return secrets;
}

export interface RotatedPepper {
  readonly previous: readonly string[];
  readonly current: string;
}

/**
 * `npm run rotate-pepper`: a new random pepper becomes current, the old ones stay for lookups, and the
 * sealing pepper stays as it was (a plain pepper becomes `v1`, which seals by default). New cards take
 * the new pepper once `npm start` restarts; cards issued before keep working.
 */
export function rotateLocalPepper(file: string): RotatedPepper {
  if (!existsSync(file)) throw new LocalRuntimeError(`${file} does not exist yet; run npm start once first.`);
  const stored = readSecretsFile(file);
  if (!stored) throw new LocalRuntimeError(`${file} is not a valid secrets file.`);
  const set: { current: string; peppers: Record<string, string>; sealing?: string } =
    typeof stored.codePepper === 'string'
      ? { current: FIRST_PEPPER_ID, peppers: { [FIRST_PEPPER_ID]: stored.codePepper } }
      : (stored.codePepper as { current: string; peppers: Record<string, string>; sealing?: string });
  const ids = Object.keys(set.peppers);
  if (ids.length >= MAX_PEPPERS) {
    throw new LocalRuntimeError(`${file} already holds ${MAX_PEPPERS} peppers, the most a set may have.`);
  }
  const versions = ids
    .map((id) => /^v(\d+)$/.exec(id)?.[1])
    .map(Number)
    .filter(Number.isInteger);
  const id = `v${Math.max(0, ...versions) + 1}`;
  const rotated = { ...set, current: id, peppers: { ...set.peppers, [id]: generateCodePepper() } };
  pepperSetFrom(rotated);
  writeSecretsFile(file, { ...stored, codePepper: rotated });
  return { previous: ids, current: id };
}
