import { DomainError } from '../core/errors';

/**
 * Opaque list cursors: the last evaluated key, base64url-encoded. A cursor is only accepted for the
 * partition it was issued for, so a crafted cursor cannot walk another list.
 */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

type Key = Record<string, string>;

const badCursor = () =>
  new DomainError('VALIDATION_FAILED', 'The cursor is not valid for this list.', [
    { field: 'cursor', message: 'not a cursor returned by this list' },
  ]);

export function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  if (!key) return null;
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, expected: Key): Key | undefined {
  return decodeCursorWhere(cursor, (key) =>
    Object.entries(expected).every(([name, value]) => key[name] === value),
  );
}

/**
 * A cursor's key, accepted only when `accepts` says it belongs to this list (a list that walks several
 * partitions names which ones); anything else is 400 VALIDATION_FAILED.
 */
export function decodeCursorWhere(
  cursor: string | undefined,
  accepts: (key: Key) => boolean,
): Key | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badCursor();
  const entries = Object.entries(parsed);
  if (entries.length > 8 || entries.some(([, value]) => typeof value !== 'string' || value.length > 512)) {
    throw badCursor();
  }
  const key = parsed as Key;
  if (!accepts(key)) throw badCursor();
  return key;
}
