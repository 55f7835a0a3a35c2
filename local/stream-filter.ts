/**
 * Lambda event filtering (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html),
 * the subset the stream registry uses: nested objects, lists of exact values, `{ prefix }`, plus
 * `{ exists }` and `{ 'anything-but': [...] }`. A record passes when it matches any pattern; no
 * patterns means every record passes.
 */
export type FilterPattern = Readonly<Record<string, unknown>>;

export function matchesAnyFilter(record: unknown, patterns: readonly FilterPattern[]): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchesPattern(record, pattern));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matchesPattern(value: unknown, pattern: FilterPattern): boolean {
  return Object.entries(pattern).every(([key, condition]) => {
    const field = isObject(value) ? value[key] : undefined;
    if (Array.isArray(condition)) return matchesConditions(field, condition);
    if (isObject(condition)) return isObject(field) && matchesPattern(field, condition);
    throw new Error(`Unsupported filter at "${key}": expected a list or a nested object`);
  });
}

/** A leaf: the field (or, for a list attribute such as SS, any of its elements) meets any condition. */
function matchesConditions(field: unknown, conditions: readonly unknown[]): boolean {
  return conditions.some((condition) => {
    if (isObject(condition) && 'exists' in condition) return (field !== undefined) === condition.exists;
    if (field === undefined) return false;
    const values = Array.isArray(field) ? field : [field];
    return values.some((value) => matchesCondition(value, condition));
  });
}

function matchesCondition(value: unknown, condition: unknown): boolean {
  if (!isObject(condition)) return value === condition;
  if (typeof condition.prefix === 'string')
    return typeof value === 'string' && value.startsWith(condition.prefix);
  const anythingBut = condition['anything-but'];
  if (anythingBut !== undefined) {
    const excluded = Array.isArray(anythingBut) ? anythingBut : [anythingBut];
    return !excluded.includes(value);
  }
  throw new Error(`Unsupported filter condition: ${JSON.stringify(condition)}`);
}
