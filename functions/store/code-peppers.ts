/**
 * The card-code pepper set: what the pepper secret (Secrets Manager in AWS, CODE_PEPPER locally) holds.
 *
 * Either a plain string, one pepper (what the data stack generates, and what every deployment had before
 * rotation existed), or JSON naming several versions:
 *
 *   { "current": "v2", "peppers": { "v1": "<old value>", "v2": "<new value>" }, "sealing": "v1" }
 *
 * - `current` derives the ids of new cards; the card item records it as `pepperId`.
 * - A lookup by code derives the id with `current` first, then with the others, newest listed first,
 *   reading one item per pepper until one exists (usually the first).
 * - `sealing` (default `v1`) is the one pepper that keys the encryption of stored idempotency results and
 *   webhook signing secrets (HKDF). It never moves with a rotation, so those records stay readable;
 *   re-keying them is a separate matter. A plain string is the pepper `v1`, so converting it to JSON with
 *   the old value under `v1` keeps every card and every sealed record as it was.
 *
 * A value is at least 32 characters. Errors never quote a value.
 */
export interface Pepper {
  readonly id: string;
  readonly value: string;
}

export interface CodePeppers {
  readonly current: Pepper;
  /** Every pepper, current first: the order a lookup by code tries them in. */
  readonly lookupOrder: readonly Pepper[];
  /** The value that keys HKDF for sealed records (idempotency results, webhook secrets). */
  readonly sealing: string;
}

/** The id of a plain-string pepper, and of the first pepper of a JSON set. */
export const FIRST_PEPPER_ID = 'v1';
/** Each pepper costs a read on every lookup miss and a condition check on every issue. */
export const MAX_PEPPERS = 10;
export const MIN_PEPPER_LENGTH = 32;
const PEPPER_ID = /^[A-Za-z0-9._-]{1,40}$/;

export class PepperSecretError extends Error {
  constructor(problem: string) {
    super(`The code pepper secret is invalid: ${problem}`);
    this.name = 'PepperSecretError';
  }
}

export function parseCodePeppers(secret: string | undefined): CodePeppers {
  if (secret === undefined || secret.trim() === '') throw new PepperSecretError('it is empty');
  if (!/^\s*[{["]/.test(secret)) {
    // Generated peppers are letters and digits: a value starting like JSON is meant as the set.
    if (secret.length < MIN_PEPPER_LENGTH)
      throw new PepperSecretError(`a plain pepper has at least ${MIN_PEPPER_LENGTH} characters`);
    const only = { id: FIRST_PEPPER_ID, value: secret };
    return { current: only, lookupOrder: [only], sealing: secret };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw new PepperSecretError('it starts like JSON but is not JSON');
  }
  return pepperSetFrom(parsed);
}

/** The JSON form, already parsed (the local secrets file keeps it as an object). */
export function pepperSetFrom(value: unknown): CodePeppers {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PepperSecretError('expected { "current", "peppers", "sealing"? }');
  const { current, peppers, sealing, ...rest } = value as Record<string, unknown>;
  const unknownFields = Object.keys(rest);
  if (unknownFields.length > 0) throw new PepperSecretError(`unknown field ${unknownFields.join(', ')}`);
  if (typeof peppers !== 'object' || peppers === null || Array.isArray(peppers))
    throw new PepperSecretError('"peppers" must map ids to values');
  const entries = Object.entries(peppers as Record<string, unknown>);
  if (entries.length === 0) throw new PepperSecretError('"peppers" is empty');
  if (entries.length > MAX_PEPPERS) throw new PepperSecretError(`more than ${MAX_PEPPERS} peppers`);
  const all: Pepper[] = [];
  for (const [id, pepper] of entries) {
    if (!PEPPER_ID.test(id)) throw new PepperSecretError(`pepper id ${JSON.stringify(id.slice(0, 40))}`);
    if (typeof pepper !== 'string' || pepper.length < MIN_PEPPER_LENGTH)
      throw new PepperSecretError(
        `pepper ${id} must be a string of at least ${MIN_PEPPER_LENGTH} characters`,
      );
    all.push({ id, value: pepper });
  }
  if (typeof current !== 'string') throw new PepperSecretError('"current" must name a pepper');
  const currentPepper = all.find((pepper) => pepper.id === current);
  if (!currentPepper) throw new PepperSecretError(`"current" names ${current}, which is not in "peppers"`);
  if (sealing !== undefined && typeof sealing !== 'string')
    throw new PepperSecretError('"sealing" must name a pepper');
  const sealingId = sealing ?? FIRST_PEPPER_ID;
  const sealingPepper = all.find((pepper) => pepper.id === sealingId);
  if (!sealingPepper) {
    throw new PepperSecretError(
      sealing === undefined
        ? `there is no pepper ${FIRST_PEPPER_ID}; name the pepper that seals stored records in "sealing"`
        : `"sealing" names ${sealingId}, which is not in "peppers"`,
    );
  }
  const others = all.filter((pepper) => pepper !== currentPepper).reverse();
  return { current: currentPepper, lookupOrder: [currentPepper, ...others], sealing: sealingPepper.value };
}
