import type { Card } from '../core/card-model';
import { toCard } from './card-items';
import { programCardsIndexPk, programCardsLast4Prefix } from './keys';
import { listByIndex } from './listing';
import { decodeCursorWhere, encodeCursor, type Page } from './pagination';
import { listPrograms } from './programs';

/**
 * Search by the last 4 of a code. A card's GSI1 sort key in its program's partition starts with its
 * last 4 (store/keys.ts programCardsIndexSk), so a search within a program is one begins_with query on
 * the keys-only index, paged by its cursor, whatever the program's card count. Across programs it walks
 * the programs' partitions in a fixed order; its cursor names the program and the position in it, and
 * one page queries at most MAX_PARTITIONS_PER_PAGE partitions (a page may then be short, with a cursor).
 */
export const MAX_PARTITIONS_PER_PAGE = 25;
/** The programs a cross-program search walks: listed once per page, at most this many. */
const MAX_PROGRAMS = 1_000;
const PROGRAM_PAGE = 200;

export function cardsByLast4InProgram(
  programId: string,
  last4: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Card>> {
  return listByIndex(
    'GSI1',
    programCardsIndexPk(programId),
    { limit, cursor, newestFirst: false, sortKeyPrefix: programCardsLast4Prefix(last4) },
    toCard,
  );
}

async function visibleProgramIds(visible: (programId: string) => boolean): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listPrograms(PROGRAM_PAGE, cursor);
    ids.push(...page.items.map((program) => program.id).filter(visible));
    cursor = page.nextCursor ?? undefined;
  } while (cursor && ids.length < MAX_PROGRAMS);
  return ids.sort();
}

/** Cards with this last 4 in every program the caller may see, program by program. */
export async function cardsByLast4(
  last4: string,
  limit: number,
  cursor: string | undefined,
  visible: (programId: string) => boolean,
): Promise<Page<Card>> {
  const programIds = await visibleProgramIds(visible);
  const at = decodeCursorWhere(cursor, (key) => typeof key.p === 'string' && programIds.includes(key.p));
  const items: Card[] = [];
  let index = at ? programIds.indexOf(at.p as string) : 0;
  let inner = at?.c;
  for (let queried = 0; index < programIds.length; queried++) {
    const programId = programIds[index] as string;
    if (queried === MAX_PARTITIONS_PER_PAGE || items.length === limit) {
      return { items, nextCursor: encodeCursor({ p: programId, ...(inner ? { c: inner } : {}) }) };
    }
    const page = await cardsByLast4InProgram(programId, last4, limit - items.length, inner);
    items.push(...page.items);
    if (page.nextCursor) inner = page.nextCursor;
    else {
      inner = undefined;
      index += 1;
    }
  }
  return { items, nextCursor: null };
}
