import * as z from 'zod';
import { redeemReward, reverseReward } from '../app/loyalty-rewards';
import { memberSignInSender } from '../app/member-messages';
import { startSignIn, verifySignIn } from '../app/member-sign-in';
import {
  deleteMemberData,
  exportMemberData,
  linkMemberCard,
  memberOverview,
  registerMember,
  revokeAllSessions,
  unlinkMemberCard,
} from '../app/members';
import { DomainError, notFound } from '../core/errors';
import { CONTACT_CHANNELS } from '../core/member';
import { sessionTokenHash } from '../core/member-session';
import { answerOf, apiHandler, type OperationRequest, type Operations, operation } from '../http/api-handler';
import { principalScope } from '../http/auth';
import { memberView, pointsEntryView } from '../http/member-views';
import { pageSchema } from '../http/response-schemas/common';
import {
  linkedCardSchema,
  memberExportSchema,
  memberSchema,
  pointsEntrySchema,
  revokedSchema,
  rewardRedemptionSchema,
  rewardReversalSchema,
  rewardSchema,
  sessionSchema,
  signInStartedSchema,
} from '../http/response-schemas/loyalty';
import { listQuery, safeText } from '../http/validation';
import { linkedCards } from '../store/card-links';
import { revokeSession } from '../store/member-sessions';
import { getMember } from '../store/members';
import { pointsHistory } from '../store/points-ledger';
import { listRewards } from '../store/rewards';

/**
 * Card holders in the loyalty program: registration and passwordless sign-in (public), then the member's
 * own data under `/v1/members/me` with their session token (`Bearer ms_...`). No route takes a member
 * id: the session names the member, so no member can reach another's data; a card or reward id another
 * member owns is NOT_FOUND.
 */
const contactBody = {
  channel: z.enum(CONTACT_CHANNELS as unknown as ['EMAIL', 'SMS']),
  contact: z.string().min(3).max(320),
};
const code = z.string().min(1).max(64);
const pin = z.string().regex(/^\d{4,12}$/, '4 to 12 digits');

const loyaltyProgramIdOf = (params: Readonly<Record<string, string>>) => {
  const id = params.loyaltyProgramId ?? '';
  if (!/^lp_[0-9a-z]{26}$/.test(id)) throw notFound('The loyalty program');
  return id;
};

/** The signed-in member: the authorizer let only members through (route access `member`). */
function memberOf(request: Pick<OperationRequest<unknown, unknown>, 'principal'>): string {
  const { principal } = request;
  if (principal.type !== 'member') throw new DomainError('UNAUTHENTICATED', 'Sign in as a member.');
  return principal.memberId;
}

const linkView = (link: { cardId: string; last4: string; linkedAt: string }) => ({
  cardId: link.cardId,
  last4: link.last4,
  linkedAt: link.linkedAt,
});

export const operations: Operations = {
  'POST /v1/loyalty/programs/{loyaltyProgramId}/members': operation({
    summary: 'Card holder: register as a member with an e-mail or phone number and consent',
    response: memberSchema,
    status: 201,
    body: z
      .object({
        ...contactBody,
        consent: z
          .object({
            termsVersion: safeText(40),
            accepted: z.literal(true),
            marketing: z.boolean().default(false),
          })
          .strict(),
      })
      .strict(),
    run: async ({ params, body, idempotency, now }) => {
      const member = await registerMember(
        loyaltyProgramIdOf(params),
        {
          channel: body.channel,
          contact: body.contact,
          termsVersion: body.consent.termsVersion,
          marketing: body.consent.marketing,
        },
        idempotency,
        now,
      );
      return memberView(member, undefined);
    },
  }),
  'POST /v1/loyalty/programs/{loyaltyProgramId}/sign-in': operation({
    summary: 'Card holder: ask for a one-time sign-in code (the same answer for unknown contacts)',
    response: signInStartedSchema,
    status: 202,
    body: z.object(contactBody).strict(),
    run: ({ params, body, now }) =>
      startSignIn(loyaltyProgramIdOf(params), body.channel, body.contact, memberSignInSender(), now),
  }),
  'POST /v1/loyalty/sign-in/verify': operation({
    summary: 'Card holder: exchange the one-time code for a session token',
    response: sessionSchema,
    status: 201,
    body: z.object({ challengeId: z.string().min(1).max(64), code: z.string().min(1).max(12) }).strict(),
    run: ({ body, now }) => verifySignIn(body.challengeId, body.code, now),
  }),
  'GET /v1/members/me': operation({
    summary: 'Member: profile, tier and points balance',
    response: memberSchema,
    run: async (request) => {
      const { member, points } = await memberOverview(memberOf(request));
      return memberView(member, points);
    },
  }),
  'DELETE /v1/members/me': operation({
    summary: 'Member: delete my data (pseudonymised; the points ledger is kept under the id)',
    status: 204,
    run: async (request) => {
      await deleteMemberData(memberOf(request), request.now);
      return undefined;
    },
  }),
  'GET /v1/members/me/export': operation({
    summary: 'Member: export all my data (profile, consent, linked cards, points ledger)',
    response: memberExportSchema,
    run: async (request) => {
      const data = await exportMemberData(memberOf(request), request.now);
      return {
        member: memberView(data.member, undefined),
        points: { balance: data.points.balance, entries: data.points.entries.map(pointsEntryView) },
        cards: data.cards.map(linkView),
        exportedAt: data.exportedAt,
      };
    },
  }),
  'GET /v1/members/me/points': operation({
    summary: 'Member: my points ledger, newest first',
    response: pageSchema(pointsEntrySchema),
    query: z.object(listQuery).strict(),
    run: async (request) => {
      const page = await pointsHistory(memberOf(request), request.query.limit, request.query.cursor);
      return { items: page.items.map(pointsEntryView), nextCursor: page.nextCursor };
    },
  }),
  'POST /v1/members/me/sign-out': operation({
    summary: 'Member: end this session',
    body: z.object({}).strict(),
    status: 204,
    run: async (request) => {
      memberOf(request);
      const token = /^Bearer (\S+)$/.exec(request.headers?.authorization ?? '')?.[1];
      if (token) await revokeSession(sessionTokenHash(token), request.now);
      return undefined;
    },
  }),
  'POST /v1/members/me/sessions/revoke-all': operation({
    summary: 'Member: end every session of mine (this one too)',
    body: z.object({}).strict(),
    response: revokedSchema,
    run: async (request) => ({ revoked: await revokeAllSessions(memberOf(request), request.now) }),
  }),
  'POST /v1/members/me/cards': operation({
    summary: 'Member: link a gift card by its code (and PIN where it has one)',
    response: linkedCardSchema,
    status: 201,
    body: z.object({ code, pin: pin.optional() }).strict(),
    run: async (request) =>
      linkView(await linkMemberCard(memberOf(request), request.body.code, request.body.pin, request.now)),
  }),
  'GET /v1/members/me/cards': operation({
    summary: 'Member: my linked cards',
    response: z.object({ items: z.array(linkedCardSchema) }),
    run: async (request) => ({ items: (await linkedCards(memberOf(request))).map(linkView) }),
  }),
  'DELETE /v1/members/me/cards/{cardId}': operation({
    summary: 'Member: unlink one of my cards',
    status: 204,
    run: async (request) => {
      await unlinkMemberCard(memberOf(request), request.params.cardId ?? '');
      return undefined;
    },
  }),
  'GET /v1/members/me/rewards': operation({
    summary: "Member: my program's rewards catalogue",
    response: z.object({ items: z.array(rewardSchema) }),
    run: async (request) => {
      const member = await getMember(memberOf(request));
      return { items: (await listRewards(member.loyaltyProgramId)).filter((reward) => reward.active) };
    },
  }),
  'POST /v1/members/me/rewards/{rewardId}/redeem': operation({
    summary: 'Member: spend points on a reward loaded onto one of my linked cards (both or neither)',
    response: rewardRedemptionSchema,
    status: 201,
    body: z.object({ cardId: z.string().min(1).max(64) }).strict(),
    run: async (request) => {
      const committed = await redeemReward(
        memberOf(request),
        request.params.rewardId ?? '',
        request.body.cardId,
        request.idempotency,
        request.now,
      );
      return answerOf(committed, ({ memberId: _m, pointsSeq: _s, ...view }) => view);
    },
  }),
  'POST /v1/members/me/rewards/reversals': operation({
    summary:
      'Member: timeout reversal of a reward redemption by its Idempotency-Key (undoes points and load)',
    response: rewardReversalSchema,
    body: z.object({ idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,255}$/) }).strict(),
    run: async (request) => {
      const memberId = memberOf(request);
      const outcome = await reverseReward(
        memberId,
        { scope: principalScope(request.principal), key: request.body.idempotencyKey },
        request.now,
      );
      if (outcome.status === 'NOTHING_TO_REVERSE') return { status: outcome.status };
      return {
        status: outcome.status,
        transactionId: outcome.redemption.transactionId,
        ...(outcome.status === 'REVERSED' ? { reversalTransactionId: outcome.reversalTransactionId } : {}),
        pointsReturned: outcome.redemption.pointsSpent,
      };
    },
  }),
};

export const handler = apiHandler('members', operations);
