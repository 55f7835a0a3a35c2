import { notFound } from '../core/errors';

/** A path id that cannot exist is simply not found: no hint about which part was wrong. */
export function pathId(
  params: Readonly<Record<string, string>>,
  name: string,
  prefix: string,
  what: string,
): string {
  const value = params[name] ?? '';
  if (!isId(value, prefix)) throw notFound(what);
  return value;
}

/** Whether a value has the form of an id with this prefix (`gc_` and 26 lower-case base-36 characters). */
export const isId = (value: string | undefined, prefix: string): value is string =>
  value !== undefined && new RegExp(`^${prefix}_[0-9a-z]{26}$`).test(value);
