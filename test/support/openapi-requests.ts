import fc from 'fast-check';
import openApiJson from '../../functions/http/openapi.json';
import { ROUTES, type RouteDefinition } from '../../functions/http/route-table';

/**
 * Requests generated from the API's OpenAPI document (functions/http/openapi.json), for the fuzzer of
 * test/e2e/openapi-fuzz.test.ts: parameter and body values from their JSON schemas (valid, minimal,
 * boundaries, wrong types, hostile strings, extra and prototype-pollution fields, deep nesting, bodies
 * that are no JSON), path ids of real entities, well-formed unknown ids and garbage.
 */

/** Real ids by path parameter name (`cardId`), by id prefix (`gc`), and `prefix:<name>` for a name's prefix. */
export type EntityIds = Readonly<Record<string, readonly string[]>>;

const realIdsOf = (ids: EntityIds, key: string): string[] => [...(ids[key] ?? [])];

export interface Schema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | Schema;
  readonly propertyNames?: Schema;
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly oneOf?: readonly Schema[];
  readonly anyOf?: readonly Schema[];
}

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly schema: Schema;
}

export interface DocOperation {
  readonly operationId: string;
  readonly parameters: readonly Parameter[];
  readonly requestBody?: { readonly content: Record<string, { readonly schema: Schema }> };
  readonly responses: Record<string, { readonly content?: Record<string, { readonly schema: Schema }> }>;
}

export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly doc: DocOperation;
  readonly route: RouteDefinition;
}

const document = openApiJson as unknown as { paths: Record<string, Record<string, DocOperation>> };

export const OPERATIONS: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, doc]) => {
    const route = ROUTES.find((r) => r.path === path && r.method === method.toUpperCase());
    if (!route) throw new Error(`${method} ${path} is documented but not in the route table`);
    return { method: method.toUpperCase(), path, doc, route };
  }),
);

const HOSTILE_STRINGS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2f',
  '\u0000',
  'a\u0000b',
  '\u202eevil',
  'zero\u200bwidth',
  '\ud800',
  "' OR 1=1 --",
  '"; DROP TABLE cards; --',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection probe, meant literally.
  '${7*7}{{7*7}}',
  'NaN',
  'Infinity',
  '-1',
  '1e309',
  '0x1F',
  'null',
  'undefined',
  'true',
  '9'.repeat(400),
  '🎁'.repeat(64),
  'Ω≈ç√∫˜µ≤≥÷',
  'A'.repeat(5000),
  '2026-13-45',
  '2026-02-30',
  '0000-00-00',
  '9999-12-31T23:59:59.999999999Z',
  '2026-13-45T99:99:99+99:99',
  `gc_${'0'.repeat(26)}`,
  `GC_${'A'.repeat(26)}`,
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
];

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

/** Deeply nested arrays or objects, within the 16 KiB body limit. */
const deepNesting: fc.Arbitrary<unknown> = fc
  .record({ depth: fc.integer({ min: 50, max: 2500 }), arrays: fc.boolean() })
  .map(({ depth, arrays }) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
    return value;
  });

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.integer().map(String),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e21, -0, 0.1),
  deepNesting,
);

const ID_PATTERN = /^\^(\w+)_\[0-9a-z\]\{26\}\$$/;
const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

const wellFormedId = (prefix: string) =>
  fc
    .string({
      unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'),
      minLength: 26,
      maxLength: 26,
    })
    .map((tail) => `${prefix}_${tail}`);

/** A string of a schema: a real id where the pattern names an id prefix, else one matching the pattern. */
function validString(ids: EntityIds, schema: Schema): fc.Arbitrary<string> {
  const idPrefix = schema.pattern ? ID_PATTERN.exec(schema.pattern)?.[1] : undefined;
  if (idPrefix) {
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...realIdsOf(ids, idPrefix), `${idPrefix}_x`) },
      { weight: 1, arbitrary: wellFormedId(idPrefix) },
    );
  }
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.pattern === DATE_PATTERN) {
    // Real days around now (a report or audit range that may succeed), or any digits (mostly not a day).
    return fc.oneof(
      fc
        .integer({ min: -400, max: 30 })
        .map((days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)),
      fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    );
  }
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' });
    } catch {
      // A pattern fast-check cannot invert: any short string will do.
    }
  }
  const minLength = schema.minLength ?? 0;
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 24, 40)) });
}

const INT32 = 2 ** 31 - 1;

function validNumber(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1_000_000;
  const max = schema.maximum ?? 1_000_000;
  const boundaries = fc.constantFrom(min, max, 0, 1, Math.min(max, 100), Math.min(max, 2500));
  const inRange = integer
    ? fc.integer({ min: Math.max(min, -INT32), max: Math.min(max, INT32) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  return fc.oneof(
    boundaries,
    inRange,
    fc.integer({ min: Math.max(min, 1), max: Math.max(min, Math.min(max, 10_000)) }),
  );
}

/** Values that satisfy a schema (as far as JSON schema can say: refinements may still refuse them). */
function validValue(ids: EntityIds, schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.oneOf ?? schema.anyOf;
  if (choices) return fc.oneof(...choices.map((choice) => validValue(ids, choice, depth)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return validString(ids, schema);
    case 'integer':
      return validNumber(schema, true);
    case 'number':
      return validNumber(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(depth > 4 ? fc.string() : validValue(ids, schema.items ?? {}, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'object':
      return validObject(ids, schema, depth, validValue);
    default:
      return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean());
  }
}

/** Only the required fields of an object, each valid: the request most likely to succeed. */
function minimalValue(ids: EntityIds, schema: Schema): fc.Arbitrary<unknown> {
  if (schema.type !== 'object') return validValue(ids, schema);
  const required = new Set(schema.required ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (required.has(name)) model[name] = validValue(ids, property, 1);
  }
  return fc.record(model);
}

/** A schema's value, or now and then a boundary breach, a wrong type or a hostile string. */
function fuzzedValue(ids: EntityIds, schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const breaches: fc.Arbitrary<unknown>[] = [wrongType, hostileString];
  if (schema.maxLength !== undefined) breaches.push(fc.constant('x'.repeat(schema.maxLength + 1)));
  if (schema.minimum !== undefined) breaches.push(fc.constant(schema.minimum - 1));
  if (schema.maximum !== undefined) breaches.push(fc.constant(schema.maximum + 1));
  return fc.oneof(
    {
      weight: 6,
      arbitrary:
        schema.type === 'object'
          ? validObject(ids, schema, depth, fuzzedValue)
          : validValue(ids, schema, depth),
    },
    { weight: 2, arbitrary: fc.oneof(...breaches) },
  );
}

function validObject(
  ids: EntityIds,
  schema: Schema,
  depth: number,
  field: (ids: EntityIds, schema: Schema, depth: number) => fc.Arbitrary<unknown>,
): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) model[name] = field(ids, property, depth + 1);
  const record = fc.record(model, { requiredKeys: schema.required ? [...schema.required] : [] });
  const extra =
    typeof schema.additionalProperties === 'object' && depth < 4
      ? fc.dictionary(
          schema.propertyNames?.pattern
            ? fc.stringMatching(new RegExp(schema.propertyNames.pattern), { size: 'xsmall' })
            : fc.string({ maxLength: 8 }),
          field(ids, schema.additionalProperties, depth + 1),
          { maxKeys: 3 },
        )
      : fc.constant({});
  return fc.tuple(extra, record).map(([more, known]) => ({ ...more, ...known }));
}

/** Keys a body should never be able to use to reach an object's prototype, or fields it does not know. */
const EXTRA_FIELDS = [
  '"__proto__":{"polluted":true,"isAdmin":true}',
  '"constructor":{"prototype":{"polluted":true}}',
  '"prototype":{"polluted":true}',
  '"balance":999999999',
  '"merchantId":"mer_00000000000000000000000000"',
  '"unknownField":"x"',
];

interface Body {
  readonly text: string | undefined;
  readonly contentType: string | undefined;
}

/** A request body: mostly JSON from the schema, with extra fields, or a body that is no JSON at all. */
function bodyOf(ids: EntityIds, schema: Schema | undefined): fc.Arbitrary<Body> {
  const json = (value: unknown) => JSON.stringify(value) ?? 'null';
  const forSchema = schema
    ? fc.oneof(
        { weight: 3, arbitrary: minimalValue(ids, schema) },
        { weight: 2, arbitrary: validValue(ids, schema) },
        { weight: 3, arbitrary: fuzzedValue(ids, schema) },
      )
    : fc.constant({});
  const withExtra = fc.tuple(forSchema, fc.constantFrom(...EXTRA_FIELDS)).map(([value, extra]) => {
    const text = json(value);
    return text.startsWith('{') ? `{${extra}${text === '{}' ? '' : `,${text.slice(1, -1)}`}}` : text;
  });
  const raw = fc.oneof(
    fc.constantFrom('', 'null', '[]', '"text"', '42', '{', '{"a":', 'amount=100', '\u0000', '{"a":1}{"b":2}'),
    fc.constant(`{"reference":"${'x'.repeat(20_000)}"}`),
    fc.constant(`{"x":"${'\\u0000'.repeat(2000)}"}`),
    deepNesting.map(json),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const text = fc.oneof(
    { weight: 6, arbitrary: forSchema.map(json) },
    { weight: 2, arbitrary: withExtra },
    { weight: 2, arbitrary: raw },
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
        'application/merge-patch+json',
        'multipart/form-data; boundary=x',
      ),
    },
  );
  return fc.record({ text, contentType });
}

/** How a value travels in a query string (cut to keep the URL within what servers take: 8 KiB). */
const queryText = (value: unknown): string =>
  (typeof value === 'string'
    ? value
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value)
  ).slice(0, 1500);

/**
 * Percent-encodes like encodeURIComponent, and a lone surrogate (which encodeURIComponent refuses) as the
 * bytes of its code unit (invalid UTF-8, for the server to meet).
 */
const encode = (value: string): string =>
  [...value]
    .map((char) =>
      /[\uD800-\uDFFF]/.test(char) && char.length === 1 ? '%ED%A0%80' : encodeURIComponent(char),
    )
    .join('');

/** Path segments sent as they are: broken percent-encoding, dot segments, encoded separators. */
const RAW_SEGMENTS = [
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  '%00',
  '%2e%2e',
  '..%2F..%2F..%2Fetc',
  '%5C..%5C',
];

/** Path parameter values: real entities, well-formed unknown ids, garbage. */
function pathValue(ids: EntityIds, name: string): fc.Arbitrary<string> {
  const real = realIdsOf(ids, name);
  const prefix = ids[`prefix:${name}`]?.[0];
  const wellFormed = prefix ? wellFormedId(prefix) : fc.stringMatching(/^[A-Za-z0-9.]{1,40}$/);
  return fc.oneof(
    { weight: real.length > 0 ? 6 : 0, arbitrary: fc.constantFrom(...(real.length > 0 ? real : ['-'])) },
    { weight: 2, arbitrary: wellFormed },
    { weight: 2, arbitrary: hostileString.filter((value) => value !== '') },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(2000), ...RAW_SEGMENTS) },
  );
}

/** Header values must be bytes without CR/LF for fetch to send them at all. */
const headerSafe = fc.string({
  unit: fc.constantFrom(...' !"#$%&()*+,-./0123456789:;<=>?@AZaz[]^_`{|}~\t'),
  maxLength: 300,
});

export interface FuzzRequest {
  readonly path: string;
  readonly query: string;
  readonly body: Body | undefined;
  /** undefined: a fresh key; null: none. */
  readonly idempotencyKey: string | null | undefined;
  /** The credential "nobody" sends: none, or one that proves nothing. */
  readonly bogusAuthorization: string | undefined;
}

export function requestOf(ids: EntityIds, operation: Operation): fc.Arbitrary<FuzzRequest> {
  const pathParams = operation.doc.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.doc.parameters.filter((p) => p.in === 'query');
  const path = fc.tuple(...pathParams.map((p) => pathValue(ids, p.name))).map((values) =>
    pathParams.reduce((at, param, i) => {
      const value = values[i] ?? '';
      return at.replace(`{${param.name}}`, RAW_SEGMENTS.includes(value) ? value : encode(value));
    }, operation.path),
  );
  const querySchema: Schema = {
    type: 'object',
    properties: Object.fromEntries(queryParams.map((p) => [p.name, p.schema])),
    required: queryParams.filter((p) => p.required).map((p) => p.name),
  };
  const extraParam = fc.tuple(
    fc.constantFrom(
      'extra',
      '__proto__',
      'constructor',
      'limit',
      'cursor',
      ...queryParams.map((p) => p.name),
    ),
    hostileString,
  );
  const query = fc
    .tuple(
      fc.oneof(
        { weight: 3, arbitrary: minimalValue(ids, querySchema) },
        { weight: 2, arbitrary: validValue(ids, querySchema) },
        { weight: 3, arbitrary: validObject(ids, querySchema, 0, fuzzedValue) },
      ),
      fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: extraParam }),
    )
    .map(([values, extra]) => {
      const pairs = Object.entries(values as Record<string, unknown>).map(([name, value]) => [
        name,
        queryText(value),
      ]);
      if (extra) pairs.push(extra);
      // At most 6,000 characters, cut anywhere (a broken escape is fine input): URLs stay within 8 KiB.
      return pairs
        .map(([name, value]) => `${encode(name ?? '')}=${encode(value ?? '')}`)
        .join('&')
        .slice(0, 6000);
    });
  const hasBody = operation.method !== 'GET' && operation.method !== 'HEAD';
  const schema = operation.doc.requestBody?.content['application/json']?.schema;
  return fc.record({
    path,
    query,
    body: hasBody ? bodyOf(ids, schema) : fc.constant(undefined),
    idempotencyKey: fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: headerSafe },
    ),
    bogusAuthorization: fc.constantFrom(
      undefined,
      'Bearer ',
      'Bearer gk_key_nope',
      `Bearer gk_key_${'0'.repeat(26)}_${'x'.repeat(40)}`,
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJhZG1pbiJ9.',
      'Basic YWRtaW46YWRtaW4=',
      `ApplePass ${'x'.repeat(43)}`,
    ),
  });
}
