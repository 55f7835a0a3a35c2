import { notFound } from '../core/errors';

/** A path id that cannot exist is simply not found: no hint about which part was wrong. */
export function pathId(
  params: Readonly<Record<string, string>>,
  name: string,
  prefix: string,
  what: string,
): string {
  const value = params[name] ?? '';
  if (!new RegExp(`^${prefix}_[0-9a-z]{26}$`).test(value)) throw notFound(what);
  return value;
}
