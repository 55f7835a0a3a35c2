import * as z from 'zod';
import { loyaltyReport } from '../app/loyalty-report';
import { queuePromotion } from '../app/promotions';
import { DomainError, notFound } from '../core/errors';
import { checkLoyaltyProgram, DEFAULT_TIERS } from '../core/loyalty-program';
import { minorUnits } from '../core/money';
import { answerOf, apiHandler, type Operations, operation } from '../http/api-handler';
import { actorOf } from '../http/auth';
import { memberView } from '../http/member-views';
import { pageSchema } from '../http/response-schemas/common';
import {
  loyaltyProgramSchema,
  loyaltyReportSchema,
  memberSchema,
  promotionSchema,
  rewardSchema,
} from '../http/response-schemas/loyalty';
import { amount, currency, entityId, isoDate, isoInstant, listQuery, safeText } from '../http/validation';
import { pageView } from '../http/views';
import { createLoyaltyProgram, getLoyaltyProgram, listLoyaltyPrograms } from '../store/loyalty-programs';
import { findMember, listMembers } from '../store/members';
import { findPointsAccount } from '../store/points-ledger';
import { getPromotion } from '../store/promotions';
import { createReward, listRewards } from '../store/rewards';

/**
 * Loyalty for staff: programs (earn rules, tiers, expiry, a point's value), members (care), the rewards
 * catalogue, member promotions through wallet passes, and the loyalty report (the points liability).
 */
const points = z.number().int().min(0).max(1_000_000);
const rate = z.number().int().min(0).max(10_000);

const createBody = z
  .object({
    name: safeText(120),
    cardProgramIds: z.array(entityId('prg')).min(1).max(50),
    currency,
    earn: z
      .object({
        pointsPerUnitRedeemed: rate,
        pointsPerUnitLoaded: rate.default(0),
        activationBonus: points.default(0),
        firstUseBonus: points.default(0),
        campaigns: z
          .array(
            z
              .object({ name: safeText(120), from: isoInstant, to: isoInstant, extraPointsPerUnit: rate })
              .strict(),
          )
          .max(20)
          .default([]),
        dailyCapPoints: points.default(0),
      })
      .strict(),
    tiers: z
      .array(
        z
          .object({
            name: safeText(40),
            minPoints: points,
            earnMultiplierPercent: z.number().int().min(0).max(1000),
          })
          .strict(),
      )
      .min(1)
      .max(10)
      .optional(),
    tierWindowDays: z.number().int().min(1).max(3660).default(365),
    expireAfterMonths: z.number().int().min(1).max(1200).optional(),
    pointValueMilliMinor: z.number().int().min(0).max(1_000_000),
  })
  .strict();

const programIdOf = (params: Readonly<Record<string, string>>) => {
  const id = params.loyaltyProgramId ?? '';
  if (!/^lp_[0-9a-z]{26}$/.test(id)) throw notFound('The loyalty program');
  return id;
};

export const operations: Operations = {
  'POST /v1/loyalty/programs': operation({
    summary: 'Create a loyalty program (card programs, earn rules, tiers, expiry, point value)',
    response: loyaltyProgramSchema,
    body: createBody,
    status: 201,
    run: ({ body, idempotency, now }) => {
      const { expireAfterMonths, ...rest } = body;
      const input = checkLoyaltyProgram({
        ...rest,
        minorPerUnit: 10 ** minorUnits(body.currency),
        tiers: body.tiers ?? DEFAULT_TIERS,
        ...(expireAfterMonths === undefined ? {} : { expireAfterMonths }),
      });
      return createLoyaltyProgram(input, idempotency, now);
    },
  }),
  'GET /v1/loyalty/programs': operation({
    summary: 'List loyalty programs',
    response: pageSchema(loyaltyProgramSchema),
    query: z.object(listQuery).strict(),
    run: async ({ query }) => pageView(await listLoyaltyPrograms(query.limit, query.cursor), (p) => p),
  }),
  'GET /v1/loyalty/programs/{loyaltyProgramId}': operation({
    summary: 'Get a loyalty program',
    response: loyaltyProgramSchema,
    run: ({ params }) => getLoyaltyProgram(programIdOf(params)),
  }),
  'GET /v1/loyalty/programs/{loyaltyProgramId}/members': operation({
    summary: "List a loyalty program's members (customer care)",
    response: pageSchema(memberSchema),
    query: z.object(listQuery).strict(),
    run: async ({ params, query }) => {
      const page = await listMembers(programIdOf(params), query.limit, query.cursor);
      const accounts = await Promise.all(page.items.map((member) => findPointsAccount(member.id)));
      return {
        items: page.items.map((member, i) => memberView(member, accounts[i])),
        nextCursor: page.nextCursor,
      };
    },
  }),
  'GET /v1/loyalty/members/{memberId}': operation({
    summary: 'Get a member with their points balance (customer care)',
    response: memberSchema,
    run: async ({ params }) => {
      const id = params.memberId ?? '';
      const member = /^mem_[0-9a-z]{26}$/.test(id) ? await findMember(id) : undefined;
      if (!member) throw notFound('The member');
      return memberView(member, await findPointsAccount(member.id));
    },
  }),
  'POST /v1/loyalty/programs/{loyaltyProgramId}/rewards': operation({
    summary: 'Add a reward to the catalogue (points for value loaded onto a linked card)',
    response: rewardSchema,
    status: 201,
    body: z
      .object({
        name: safeText(120),
        pointsCost: points.min(1),
        valueMinor: amount,
        active: z.boolean().default(true),
      })
      .strict(),
    run: async ({ params, body, now }) => {
      const program = await getLoyaltyProgram(programIdOf(params));
      return createReward({ loyaltyProgramId: program.id, ...body }, now);
    },
  }),
  'GET /v1/loyalty/programs/{loyaltyProgramId}/rewards': operation({
    summary: "A loyalty program's rewards catalogue",
    response: z.object({ items: z.array(rewardSchema) }),
    run: async ({ params }) => ({ items: await listRewards(programIdOf(params)) }),
  }),
  'POST /v1/loyalty/programs/{loyaltyProgramId}/promotions': operation({
    summary:
      'Queue a member promotion to the wallet passes of targeted members (tier, activity), with a frequency cap; sent in the background',
    response: promotionSchema,
    status: 202,
    body: z
      .object({
        header: safeText(60),
        body: safeText(300),
        target: z
          .object({
            tiers: z.array(safeText(40)).min(1).max(10).optional(),
            activeWithinDays: z.number().int().min(1).max(3660).optional(),
            minPointsBalance: points.optional(),
          })
          .strict()
          .default({}),
        maxPerMemberPerDay: z.number().int().min(1).max(10).default(1),
      })
      .strict(),
    run: async ({ principal, params, body, idempotency, now }) =>
      answerOf(
        await queuePromotion(programIdOf(params), body, actorOf(principal), idempotency, now),
        (p) => p,
      ),
  }),
  'GET /v1/loyalty/programs/{loyaltyProgramId}/promotions/{promotionId}': operation({
    summary: 'A promotion: its status (QUEUED, SENDING, SENT) and its counts so far',
    response: promotionSchema,
    run: ({ params }) => getPromotion(programIdOf(params), params.promotionId ?? ''),
  }),
  'GET /v1/reports/loyalty': operation({
    summary: 'Loyalty report: points earned, spent, expired per day, points outstanding and their value',
    response: loyaltyReportSchema,
    query: z.object({ from: isoDate, to: isoDate, loyaltyProgramId: z.string().optional() }).strict(),
    run: async ({ query }) => {
      if (query.from > query.to)
        throw new DomainError('VALIDATION_FAILED', 'from after to', [
          { field: 'from', message: 'at most `to`' },
        ]);
      const reports = await loyaltyReport(query.from, query.to, query.loyaltyProgramId);
      return {
        items: reports.map((report) => ({
          ...report,
          days: report.days.map(({ loyaltyProgramId: _, ...day }) => day),
        })),
      };
    },
  }),
};

export const handler = apiHandler('loyalty', operations);
