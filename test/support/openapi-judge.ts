import type { RouteDefinition } from '../../functions/http/route-table';
import type { Operation, Schema } from './openapi-requests';

/**
 * What the OpenAPI fuzzer (test/e2e/openapi-fuzz.test.ts) requires of every answer: never 5xx (but a
 * documented 503 TIMED_OUT); no success for a caller the route table does not let in; every error
 * problem+json with a stable code; no stack, file path or internal error text; a success documented for
 * the operation, in its documented media type and schema.
 */
export type PrincipalName = 'merchant' | 'admin' | 'nobody' | 'pass';

/** Who the route table lets through: the fuzzer's expectation of "no success without credentials". */
export function allowed(route: RouteDefinition, principal: PrincipalName): boolean {
  const { access } = route;
  if (access.public) return true;
  if (access.passToken) return principal === 'pass';
  if (principal === 'merchant') return access.merchant !== undefined;
  if (principal === 'admin') return access.staff?.includes('admin') === true;
  return false;
}

export const principalsOf = (operation: Operation): PrincipalName[] =>
  operation.route.access.passToken
    ? ['merchant', 'admin', 'nobody', 'pass']
    : ['merchant', 'admin', 'nobody'];

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly bytes: number;
}

/** What no answer may carry: stack frames, file paths, runtime and SDK error text. */
const LEAKS: readonly RegExp[] = [
  /\bat [\w$.<>]+ \(/,
  /\bat (?:async )?(?:file:\/\/|\/)[^\s]+:\d+:\d+/,
  /(?:\/work\/|\/home\/|\/var\/task\/|\/tmp\/|node_modules|[\w-]+\.(?:ts|js|mjs):\d+)/,
  /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|EvalError)\b/,
  /Invalid time value|Cannot read propert|is not a function|is not defined|Maximum call stack|Unexpected token/,
  /ConditionalCheckFailed|TransactionCanceled|ValidationException|ResourceNotFoundException|ProvisionedThroughput|AccessDenied/,
];

const STABLE_CODE = /^[A-Z][A-Z_]{2,40}$/;

type Json = Record<string, unknown>;

/** A small JSON schema check (type, required, properties, items, enum): what the document promises. */
function schemaProblems(value: unknown, schema: Schema, at = 'body'): string[] {
  const type = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const actual = Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : Number.isInteger(value)
        ? 'integer'
        : typeof value;
  if (type.length > 0 && !type.includes(actual) && !(actual === 'integer' && type.includes('number'))) {
    return [`${at} is ${actual}, documented ${type.join('|')}`];
  }
  if (schema.enum && !schema.enum.includes(value)) return [`${at} is not one of ${schema.enum.join(', ')}`];
  const problems: string[] = [];
  if (actual === 'object') {
    const object = value as Json;
    for (const name of schema.required ?? [])
      if (!(name in object)) problems.push(`${at}.${name} is missing`);
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (object[name] !== undefined)
        problems.push(...schemaProblems(object[name], property, `${at}.${name}`));
    }
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => {
      problems.push(...schemaProblems(item, schema.items as Schema, `${at}[${i}]`));
    });
  }
  return problems;
}

export function judge(operation: Operation, principal: PrincipalName, answer: Answer): string[] {
  const problems: string[] = [];
  const { status } = answer;
  if (status >= 500) {
    const timedOut = status === 503 && answer.text.includes('"TIMED_OUT"');
    if (!timedOut) problems.push(`answered ${status}`);
  }
  if (status < 400 && !allowed(operation.route, principal)) {
    problems.push(`answered ${status} to ${principal}, whom the route table does not let in`);
  }
  for (const leak of LEAKS) {
    if (leak.test(answer.text) && operation.path !== '/openapi.json' && operation.path !== '/docs') {
      problems.push(`the body leaks ${leak}: ${answer.text.slice(0, 300)}`);
    }
  }
  if (status >= 400) {
    problems.push(...problemShape(operation, answer));
    return problems;
  }
  const documented = operation.doc.responses[String(status)];
  if (!documented) {
    problems.push(
      `answered ${status}, which the document does not list (${Object.keys(operation.doc.responses)})`,
    );
    return problems;
  }
  const media = Object.entries(documented.content ?? {});
  if (media.length === 0) {
    if (answer.bytes > 0) problems.push(`answered ${status} with a body where the document shows none`);
    return problems;
  }
  if (operation.method === 'HEAD') return problems;
  const [type, { schema }] = media.find(([name]) => answer.contentType.startsWith(name)) ??
    media[0] ?? ['', { schema: {} }];
  if (!answer.contentType.startsWith(type)) {
    problems.push(`answered ${answer.contentType || 'no media type'}, documented ${type}`);
  } else if (type === 'application/json') {
    try {
      problems.push(...schemaProblems(JSON.parse(answer.text), schema));
    } catch {
      problems.push(`answered ${type} that is no JSON: ${answer.text.slice(0, 100)}`);
    }
  }
  return problems;
}

function problemShape(operation: Operation, answer: Answer): string[] {
  if (operation.method === 'HEAD' && answer.bytes === 0) return [];
  if (!answer.contentType.startsWith('application/problem+json')) {
    return [`error ${answer.status} is ${answer.contentType || 'untyped'}, not application/problem+json`];
  }
  let problem: Json;
  try {
    problem = JSON.parse(answer.text) as Json;
  } catch {
    return [`error ${answer.status} is no JSON: ${answer.text.slice(0, 100)}`];
  }
  const problems: string[] = [];
  if (typeof problem.code !== 'string' || !STABLE_CODE.test(problem.code)) {
    problems.push(`error ${answer.status} has no stable code: ${answer.text.slice(0, 200)}`);
  }
  if (problem.status !== answer.status)
    problems.push(`problem status ${problem.status} on a ${answer.status}`);
  for (const field of ['type', 'title', 'detail']) {
    if (typeof problem[field] !== 'string') problems.push(`problem without ${field}`);
  }
  return problems;
}
