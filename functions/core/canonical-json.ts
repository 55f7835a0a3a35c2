/**
 * Canonical JSON as RFC 8785 (JCS) writes it, for the values a ledger item holds: objects (keys sorted
 * by UTF-16 code units, properties whose value is undefined left out, as the table never stores them),
 * arrays, strings (JSON.stringify's escaping, which is JCS's), booleans, null and safe integers. Money is
 * integer minor units, so a fraction or an unsafe integer is refused rather than rounded.
 * docs/ledger-chain.md describes it for auditors who re-implement it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`canonicalJson: ${value} is not a safe integer`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  throw new Error(`canonicalJson: a ${typeof value} has no canonical form`);
}
