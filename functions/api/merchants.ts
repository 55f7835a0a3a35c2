import * as z from 'zod';
import { MERCHANT_SCOPES } from '../core/access';
import type { Merchant } from '../core/merchant';
import { DEFAULT_MERCHANT_USAGE_PLAN, MERCHANT_USAGE_PLANS } from '../core/usage-plans';
import { apiHandler, type Operations, operation, readAhead } from '../http/api-handler';
import { auditOf } from '../http/auth';
import { isId, pathId } from '../http/params';
import { pageSchema } from '../http/response-schemas/common';
import { apiKeyCreatedSchema, apiKeySchema, merchantSchema } from '../http/response-schemas/programs';
import { checkLimits, entityId, listQuery, safeText } from '../http/validation';
import { pageView } from '../http/views';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../store/api-keys';
import { createMerchant, getMerchant, listMerchants, updateMerchant } from '../store/merchants';

const programs = z.array(entityId('prg')).max(100);
const scopes = z
  .array(z.enum(MERCHANT_SCOPES as [string, ...string[]]))
  .min(1)
  .max(MERCHANT_SCOPES.length);
const usagePlan = z.enum(MERCHANT_USAGE_PLANS);
/** Why the change is made: kept on its audit record. */
const reason = safeText(500).optional();
const merchantId = (params: Readonly<Record<string, string>>) =>
  pathId(params, 'merchantId', 'mer', 'The merchant');

/** What staff see of a merchant: its tier, never its usage identifier. */
const merchantView = ({ usageIdentifier: _usageIdentifier, ...merchant }: Merchant) => ({
  ...merchant,
  usagePlan: merchant.usagePlan ?? DEFAULT_MERCHANT_USAGE_PLAN,
});

export const operations: Operations = {
  'POST /v1/merchants': operation({
    summary: 'Create a merchant',
    response: merchantSchema,
    body: z
      .object({
        name: safeText(120),
        programs: programs.optional(),
        usagePlan: usagePlan.optional(),
        checkLimits: checkLimits.optional(),
        reason,
      })
      .strict(),
    status: 201,
    run: async ({ principal, body, idempotency, now }) =>
      merchantView(
        await createMerchant(
          {
            name: body.name,
            programIds: body.programs ?? [],
            ...(body.usagePlan ? { usagePlan: body.usagePlan } : {}),
            ...(body.checkLimits ? { checkLimits: body.checkLimits } : {}),
          },
          idempotency,
          now,
          auditOf(principal, body.reason),
        ),
      ),
  }),
  'GET /v1/merchants': operation({
    summary: 'List merchants',
    response: pageSchema(merchantSchema),
    query: z.object(listQuery).strict(),
    run: async ({ query }) => pageView(await listMerchants(query.limit, query.cursor), merchantView),
  }),
  'GET /v1/merchants/{merchantId}': operation({
    summary: 'Get a merchant',
    response: merchantSchema,
    early: (params) =>
      isId(params.merchantId, 'mer') ? readAhead(() => getMerchant(params.merchantId as string)) : undefined,
    run: async ({ params, early }) => {
      const id = merchantId(params);
      return merchantView(await ((early as ReturnType<typeof getMerchant> | undefined) ?? getMerchant(id)));
    },
  }),
  'PATCH /v1/merchants/{merchantId}': operation({
    summary: 'Rename a merchant, change its programs, its usage plan or its failed-check limits',
    response: merchantSchema,
    body: z
      .object({
        name: safeText(120).optional(),
        programs: programs.optional(),
        usagePlan: usagePlan.optional(),
        checkLimits: checkLimits.optional(),
        reason,
      })
      .strict()
      .refine(
        (patch) => Object.keys(patch).some((field) => field !== 'reason'),
        'give at least one field to change',
      ),
    run: async ({ principal, params, body, now }) =>
      merchantView(
        await updateMerchant(
          merchantId(params),
          {
            ...(body.name ? { name: body.name } : {}),
            ...(body.programs ? { programIds: body.programs } : {}),
            ...(body.usagePlan ? { usagePlan: body.usagePlan } : {}),
            ...(body.checkLimits ? { checkLimits: body.checkLimits } : {}),
          },
          now,
          auditOf(principal, body.reason),
        ),
      ),
  }),
  'POST /v1/merchants/{merchantId}/api-keys': operation({
    summary: 'Create an API key (shown once)',
    response: apiKeyCreatedSchema,
    body: z.object({ scopes: scopes.optional(), description: safeText(200).optional(), reason }).strict(),
    status: 201,
    run: ({ principal, params, body, idempotency, now }) =>
      createApiKey(
        merchantId(params),
        {
          scopes: (body.scopes ?? MERCHANT_SCOPES) as typeof MERCHANT_SCOPES,
          ...(body.description ? { description: body.description } : {}),
        },
        idempotency,
        now,
        auditOf(principal, body.reason),
      ),
  }),
  'GET /v1/merchants/{merchantId}/api-keys': operation({
    summary: "List a merchant's API keys (never the key)",
    response: pageSchema(apiKeySchema),
    query: z.object(listQuery).strict(),
    run: async ({ params, query }) =>
      pageView(await listApiKeys(merchantId(params), query.limit, query.cursor), (key) => key),
  }),
  'POST /v1/merchants/{merchantId}/api-keys/{keyId}/rotate': operation({
    summary:
      'Rotate an API key: a new key (shown once) with the same scopes; the old one works for the grace period',
    response: apiKeyCreatedSchema,
    body: z
      .object({
        /** How long the old key keeps working (default one day, at most seven; 0 ends it at once). */
        gracePeriodSeconds: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400)
          .optional(),
        reason,
      })
      .strict(),
    status: 201,
    run: ({ principal, params, body, idempotency, now }) =>
      rotateApiKey(
        merchantId(params),
        pathId(params, 'keyId', 'key', 'The API key'),
        { gracePeriodSeconds: body.gracePeriodSeconds ?? 86_400 },
        idempotency,
        now,
        auditOf(principal, body.reason),
      ),
  }),
  'DELETE /v1/merchants/{merchantId}/api-keys/{keyId}': operation({
    summary: 'Revoke an API key at once (?reason= is kept on the audit record)',
    response: apiKeySchema,
    query: z.object({ reason }).strict(),
    run: ({ principal, params, query, now }) =>
      revokeApiKey(
        merchantId(params),
        pathId(params, 'keyId', 'key', 'The API key'),
        now,
        auditOf(principal, query.reason),
      ),
  }),
};

export const handler = apiHandler('merchants', operations);
