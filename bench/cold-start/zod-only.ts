/**
 * An attribution probe for the cold-start benchmark: zod alone (one small schema), bundled like the
 * functions, to show what importing zod costs out of a function's import time.
 */
import * as z from 'zod';

const schema = z.object({ a: z.string(), b: z.number().int() }).strict();

export const handler = async () => ({
  statusCode: 200,
  body: JSON.stringify(schema.parse({ a: 'x', b: 1 })),
});
