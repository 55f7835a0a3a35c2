/**
 * Canonical JSON as RFC 8785 (JCS) writes it, for the values a ledger item holds: objects (keys sorted
 * by UTF-16 code units, properties whose value is undefined left out, as the table never stores them),
 * arrays, strings (JSON.stringify's escaping, which is JCS's), booleans, null and safe integers. Money is
 * integer minor units, so a fraction or an unsafe integer is refused rather than rounded.
 * docs/ledger-chain.md describes it for auditors who re-implement it. Written as one pass appending to
 * a string (no intermediate arrays): it runs twice on every card change's entry.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Error(`canonicalJson: ${value} is not a safe integer`);
      // A safe integer's decimal digits: what JSON.stringify and JCS write (-0 as 0).
      return value === 0 ? '0' : String(value);
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? arrayJson(value) : objectJson(value as Record<string, unknown>);
    default:
      throw new Error(`canonicalJson: a ${typeof value} has no canonical form`);
  }
}

function arrayJson(values: readonly unknown[]): string {
  let out = '[';
  for (let index = 0; index < values.length; index++) {
    if (index > 0) out += ',';
    out += canonicalJson(values[index]);
  }
  return `${out}]`;
}

function objectJson(record: Record<string, unknown>): string {
  // Array.prototype.sort without a comparator orders strings by UTF-16 code units, as JCS asks.
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}
