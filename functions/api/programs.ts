import * as z from 'zod';
import { config } from '../config';
import {
  CODE_ALPHABETS,
  type CodeFormat,
  checkCodeFormat,
  codeFormatFrom,
  DEFAULT_MAX_CARDS,
  MAX_MAX_CARDS,
} from '../core/card-code';
import { notFound } from '../core/errors';
import { FRAUD_LIMITS } from '../core/fraud-rules';
import { minorUnits } from '../core/money';
import {
  checkProgramRules,
  DEFAULT_CASH_OUT,
  DEFAULT_DEACTIVATION,
  DESIGN_ID_PATTERN,
  type ExpiryPolicy,
  MAX_PROGRAM_DESIGNS,
} from '../core/program';
import { apiHandler, type Operations, operation, readAhead } from '../http/api-handler';
import { auditOf } from '../http/auth';
import { isId } from '../http/params';
import { pageSchema } from '../http/response-schemas/common';
import { programSchema } from '../http/response-schemas/programs';
import { amount, checkLimits, currency, entityId, listQuery, safeText } from '../http/validation';
import { pageView } from '../http/views';
import { createProgram, getProgram, listPrograms, type ProgramInput, updateProgram } from '../store/programs';

const expiryPolicy = z.discriminatedUnion('type', [
  z.object({ type: z.literal('NONE') }).strict(),
  z.object({ type: z.literal('MONTHS_AFTER_ISSUE'), months: z.number().int().min(1).max(1200) }).strict(),
  z.object({ type: z.literal('MONTHS_AFTER_LAST_LOAD'), months: z.number().int().min(1).max(1200) }).strict(),
  z.object({ type: z.literal('US_CARD_ACT') }).strict(),
]);

const between = (limits: { readonly min: number; readonly max: number }) =>
  z.number().int().min(limits.min).max(limits.max).optional();
const ruleSwitch = { enabled: z.boolean().optional(), block: z.boolean().optional() };
const velocity = z
  .object({
    ...ruleSwitch,
    windowMinutes: between(FRAUD_LIMITS.windowMinutes),
    maxCount: between(FRAUD_LIMITS.maxCount),
    maxAmount: amount.optional(),
  })
  .strict();

/** Per rule: on/off, whether a hit blocks the card, thresholds; what is left out keeps its value. */
const fraudRules = z
  .object({
    REDEMPTION_VELOCITY_CARD: velocity.optional(),
    REDEMPTION_VELOCITY_MERCHANT: velocity.optional(),
    DRAIN_AFTER_ACTIVATION: z
      .object({
        ...ruleSwitch,
        withinMinutes: between(FRAUD_LIMITS.withinMinutes),
        percent: between(FRAUD_LIMITS.percent),
      })
      .strict()
      .optional(),
    LARGE_LOAD: z
      .object({ ...ruleSwitch, threshold: amount.optional() })
      .strict()
      .optional(),
    MANY_MERCHANTS: z
      .object({
        ...ruleSwitch,
        windowHours: between(FRAUD_LIMITS.windowHours),
        maxMerchants: between(FRAUD_LIMITS.maxMerchants),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Each part optional: see codeFormatFrom for the defaults; validity is checked with maxCards. */
const codeFormat = z
  .object({
    alphabet: z.enum(CODE_ALPHABETS as ['NUMERIC_LUHN', 'UNAMBIGUOUS']).optional(),
    length: z.number().int().min(8).max(24).optional(),
    prefix: z
      .string()
      .max(22)
      .regex(/^[0-9A-Z]*$/, 'upper-case letters and digits only')
      .optional(),
  })
  .strict();

const rules = {
  name: safeText(120),
  codeFormat: codeFormat.optional(),
  maxCards: z.number().int().min(1).max(MAX_MAX_CARDS).optional(),
  pinRequired: z.boolean().optional(),
  pinPolicy: z.enum(['NEVER', 'ALWAYS', 'ONLINE_ONLY']).optional(),
  minLoad: amount.optional(),
  maxLoad: amount.optional(),
  maxBalance: amount.optional(),
  expiryPolicy: expiryPolicy.optional(),
  cashOut: z.object({ enabled: z.boolean(), maxBalance: amount.optional() }).strict().optional(),
  deactivation: z.enum(['ALLOW_WITH_BALANCE', 'REQUIRE_ZERO_BALANCE']).optional(),
  fraudRules: fraudRules.optional(),
  checkLimits: checkLimits.optional(),
  designs: z
    .array(z.string().regex(DESIGN_ID_PATTERN, '1-64 letters, digits, _ or -'))
    .max(MAX_PROGRAM_DESIGNS)
    .refine((ids) => new Set(ids).size === ids.length, 'each design once')
    .optional()
    .describe('the e-gift design ids its digital cards may be sent with; [] for none'),
};

/** Why the change is made: kept on its audit record. */
const reason = safeText(500).optional();
const createBody = z
  .object({ ...rules, currency, merchants: z.array(entityId('mer')).max(100).optional(), reason })
  .strict();
const patchBody = z
  .object({ ...rules, name: rules.name.optional(), reason })
  .strict()
  .refine(
    (patch) => Object.keys(patch).some((field) => field !== 'reason'),
    'give at least one field to change',
  );
const programParams = (params: Readonly<Record<string, string>>) => {
  const id = params.programId ?? '';
  if (!entityId('prg').safeParse(id).success) throw notFound('The program');
  return id;
};

/**
 * The code format and maxCards a request asks for, completed and checked: the prefix must start with this
 * region's code and the format must keep 10^9 unissued codes per issued code at maxCards. A shortfall is
 * blamed on what the caller chose: the length if given, else maxCards if given, else the prefix.
 */
function codeRules(
  requested: z.infer<typeof codeFormat> | undefined,
  requestedMaxCards: number | undefined,
  maxCards: number,
): { codeFormat: CodeFormat; maxCards: number } {
  const regionCode = config().REGION_CODE;
  const format = codeFormatFrom(requested, maxCards, regionCode);
  const blame =
    requested?.length !== undefined
      ? 'codeFormat.length'
      : requestedMaxCards !== undefined
        ? 'maxCards'
        : 'codeFormat.prefix';
  checkCodeFormat(format, maxCards, { regionCode, blame });
  return { codeFormat: format, maxCards };
}

/** Defaults scale with the currency: 1 to 500 major units a load, 2,000 a balance. */
function withDefaults(body: z.infer<typeof createBody>): ProgramInput {
  const unit = 10 ** minorUnits(body.currency);
  const program: ProgramInput = {
    name: body.name,
    currency: body.currency,
    ...codeRules(body.codeFormat, body.maxCards, body.maxCards ?? DEFAULT_MAX_CARDS),
    pinPolicy: body.pinPolicy ?? (body.pinRequired ? 'ALWAYS' : 'NEVER'),
    minLoad: body.minLoad ?? unit,
    maxLoad: body.maxLoad ?? 500 * unit,
    maxBalance: body.maxBalance ?? 2000 * unit,
    expiryPolicy: (body.expiryPolicy ?? { type: 'NONE' }) as ExpiryPolicy,
    cashOut: body.cashOut ?? DEFAULT_CASH_OUT,
    deactivation: body.deactivation ?? DEFAULT_DEACTIVATION,
    ...(body.fraudRules ? { fraudRules: body.fraudRules } : {}),
    ...(body.checkLimits ? { checkLimits: body.checkLimits } : {}),
    ...(body.designs ? { designs: body.designs } : {}),
  };
  checkProgramRules(program);
  return program;
}

export const operations: Operations = {
  'POST /v1/programs': operation({
    summary: 'Create a program (currency, limits, expiry, PIN, cash-out rules)',
    response: programSchema,
    body: createBody,
    status: 201,
    run: ({ principal, body, idempotency, now }) =>
      createProgram(
        withDefaults(body),
        body.merchants ?? [],
        idempotency,
        now,
        auditOf(principal, body.reason),
      ),
  }),
  'GET /v1/programs': operation({
    summary: 'List programs',
    response: pageSchema(programSchema),
    query: z.object(listQuery).strict(),
    run: async ({ query }) => pageView(await listPrograms(query.limit, query.cursor), (program) => program),
  }),
  'GET /v1/programs/{programId}': operation({
    summary: 'Get a program',
    response: programSchema,
    early: (params) =>
      isId(params.programId, 'prg') ? readAhead(() => getProgram(params.programId as string)) : undefined,
    run: ({ params, early }) => {
      const programId = programParams(params);
      return (early as ReturnType<typeof getProgram> | undefined) ?? getProgram(programId);
    },
  }),
  'PATCH /v1/programs/{programId}': operation({
    summary: "Change a program's rules (new cards and later loads)",
    response: programSchema,
    body: patchBody,
    run: async ({ principal, params, body, now }) => {
      const programId = programParams(params);
      const { pinRequired, codeFormat: requestedFormat, reason: why, ...rest } = body;
      // A new format (for new cards) keeps the program's alphabet (and its prefix, in the same alphabet)
      // unless told otherwise, and is completed against its maxCards unless that changes too. The store
      // checks the merged program again, so a concurrent change of maxCards cannot slip by.
      let code = {};
      if (requestedFormat) {
        const current = await getProgram(programId);
        const alphabet = requestedFormat.alphabet ?? current.codeFormat.alphabet;
        const prefix =
          requestedFormat.prefix ??
          (alphabet === current.codeFormat.alphabet ? current.codeFormat.prefix : undefined);
        code = codeRules(
          { ...requestedFormat, alphabet, ...(prefix === undefined ? {} : { prefix }) },
          body.maxCards,
          body.maxCards ?? current.maxCards,
        );
      }
      return updateProgram(
        programId,
        {
          ...rest,
          ...code,
          ...(pinRequired === undefined ? {} : { pinPolicy: pinRequired ? 'ALWAYS' : 'NEVER' }),
        },
        now,
        auditOf(principal, why),
      );
    },
  }),
};

export const handler = apiHandler('programs', operations);
