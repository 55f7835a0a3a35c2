import type * as z from 'zod';
import type { FieldError } from '../core/errors';

/**
 * zod's issues as the problem's `errors`, one per field. Apart from the schemas (functions/http/validation.ts)
 * so the dispatcher imports no zod value: a route group whose cold path validates nothing never evaluates it.
 */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: [path, key].filter(Boolean).join('.'),
        message: 'unknown field',
      }));
    }
    return [{ field: path || prefix || 'body', message: issue.message }];
  });
}
