import * as z from 'zod';

/**
 * The pieces every answer's schema is built from. The answers' schemas (this folder, one file a concept)
 * feed the OpenAPI document and through it the web apps' typed client (web/src/shared/api-schema.d.ts);
 * each mirrors a view the handlers answer with, and test/e2e/response-contract.test.ts parses a real
 * answer of every route with its schema, key for key.
 */
export const isoTime = z.string().describe('ISO 8601 UTC');
export const isoDate = z.string().describe('yyyy-mm-dd');
export const minor = z.number().int().describe('minor units');
export const count = z.number().int().min(0);

/** Who did something: a merchant, a staff user, the system or the card holder. */
export const actorSchema = z.object({
  type: z.enum(['merchant', 'staff', 'system', 'holder']),
  id: z.string(),
});

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** A list that is never paged: it is bounded by what it lists (a range of days, the last runs). */
export const itemsSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
