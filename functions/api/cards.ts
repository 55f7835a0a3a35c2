import * as z from 'zod';
import { type CardRequest, changeCard } from '../app/card-change';
import { issueCard } from '../app/card-issue';
import { getCard, lookupCard, mayReadEntry } from '../app/card-lookup';
import { reissueCard } from '../app/card-reissue';
import { transferValue } from '../app/card-transfer';
import { setPin } from '../app/pin-change';
import { activateAtTill } from '../app/till-activation';
import { displayStatus } from '../core/card';
import { ownsEntry } from '../core/card-policy';
import { notFound } from '../core/errors';
import { DEFAULT_HOLD_SECONDS, MAX_HOLD_SECONDS, MIN_HOLD_SECONDS } from '../core/hold';
import { CHANNELS } from '../core/ledger';
import { checkNewPin, hashPin } from '../core/pin';
import { answerOf, apiHandler, type Operations, operation } from '../http/api-handler';
import { actorOf, cardVisibility, programVisibility } from '../http/auth';
import { operationContext } from '../http/operation-context';
import { isId, pathId } from '../http/params';
import {
  cardChangeSchema,
  cardSchema,
  holdSchema,
  issuedCardSchema,
  pageSchema,
  reissueSchema,
  transactionSchema,
  transferSchema,
} from '../http/response-schemas/cards';
import {
  amount,
  amountOrZero,
  entityId,
  externalId,
  listQuery,
  metadata,
  requestContextFields,
  safeText,
} from '../http/validation';
import { cardView, holdView, othersEntryView, pageView, transactionView } from '../http/views';
import {
  cardHistory,
  type EarlyCardRead,
  findHold,
  listCards,
  openHolds,
  readCardEarly,
} from '../store/card-reads';
import { checkPin, pinRefusal } from '../store/pins';
import { warmProgramCache } from '../store/programs';

const cardId = (params: Readonly<Record<string, string>>) => pathId(params, 'cardId', 'gc', 'The card');
const reason = safeText(500);

/** One verb on one card: plan, guarded write, answer `{ transaction, card }`. */
const cardVerb = <B extends z.ZodRawShape>(
  summary: string,
  shape: B,
  toOperation: (body: z.infer<z.ZodObject<B>>, params: Readonly<Record<string, string>>) => CardRequest,
  status = 200,
) =>
  operation({
    summary,
    status,
    response: cardChangeSchema,
    body: z.object({ ...shape, ...requestContextFields, pin: pinField.optional() }).strict(),
    // A cold or quiet instance reads the card and the programs while the caller is authenticated.
    early: (params, hint) => {
      warmProgramCache(hint.programIds);
      return isId(params.cardId, 'gc') ? readCardEarly(params.cardId) : undefined;
    },
    run: async (request) => {
      const { pin } = request.body as { pin?: string };
      // A cold instance reads the card's program alongside the card, not after it.
      if (request.principal.type === 'merchant') warmProgramCache(request.principal.merchant.programIds);
      const committed = await changeCard(
        cardId(request.params),
        toOperation(request.body as z.infer<z.ZodObject<B>>, request.params),
        operationContext(request),
        cardVisibility(request.principal),
        {
          claim: request.idempotency,
          pin,
          early: request.early as EarlyCardRead | undefined,
          deadlineMs: request.deadlineMs,
        },
      );
      return answerOf(committed, (result) => ({
        ...(result.hold ? { hold: holdView(result.hold) } : {}),
        transaction: transactionView(result.transaction),
        card: cardView(result.card, request.now),
      }));
    },
  });

/** A PIN as typed at a till: digits only; its rules for new PINs are checked when it is set. */
const pinField = z.string().regex(/^\d{4,12}$/, '4 to 12 digits');

const holdId = (params: Readonly<Record<string, string>>) => pathId(params, 'holdId', 'hold', 'The hold');

const issueBody = z
  .object({
    programId: entityId('prg'),
    type: z.enum(['DIGITAL', 'PHYSICAL']),
    amount: amountOrZero.optional(),
    activate: z.boolean().optional(),
    customer: z.object({ id: externalId }).strict().optional(),
    recipient: z
      .object({
        name: safeText(200).optional(),
        email: z.email().max(254).optional(),
        message: safeText(1000).optional(),
      })
      .strict()
      .optional(),
    metadata: metadata.optional(),
    ...requestContextFields,
  })
  .strict();

const listCardsQuery = z
  .object({
    ...listQuery,
    programId: entityId('prg').optional(),
    customerId: externalId.optional(),
    merchantId: entityId('mer').optional(),
    status: z.enum(['PENDING', 'ACTIVE', 'BLOCKED', 'DEACTIVATED', 'EXPIRED']).optional(),
    // Digits, or letters and digits of an UNAMBIGUOUS code, in either case.
    last4: z
      .string()
      .regex(/^[0-9A-Za-z]{4}$/)
      .transform((last4) => last4.toUpperCase())
      .optional(),
  })
  .strict();

export const operations: Operations = {
  'POST /v1/cards': operation({
    summary: 'Issue a card (the code is returned once)',
    body: issueBody,
    response: issuedCardSchema,
    status: 201,
    run: async (request) => {
      const { body } = request;
      const committed = await issueCard(
        body.programId,
        {
          type: body.type,
          amount: body.amount ?? 0,
          activate: body.activate ?? false,
          ...(body.customer ? { customerId: body.customer.id } : {}),
          ...(body.recipient ? { recipient: body.recipient } : {}),
          ...(body.metadata ? { metadata: body.metadata } : {}),
        },
        operationContext(request),
        request.idempotency,
        programVisibility(request.principal),
      );
      return answerOf(committed, (issued) => ({
        card: cardView(issued.card, request.now),
        code: issued.code,
        transactions: issued.transactions.map(transactionView),
      }));
    },
  }),
  'GET /v1/cards': operation({
    summary: 'Search cards (staff): by program, customer, issuing merchant, or last 4 (in a program or all)',
    query: listCardsQuery,
    response: pageSchema(cardSchema),
    run: async ({ query, now }) => {
      const { limit, cursor, ...filter } = query;
      return pageView(await listCards(filter, limit, cursor, now, displayStatus), (card) =>
        cardView(card, now),
      );
    },
  }),
  'POST /v1/cards/lookup': operation({
    summary: 'Balance inquiry by card code',
    response: cardSchema,
    body: z
      .object({
        code: z.string().min(1).max(64),
        pin: pinField.optional(),
        channel: z.enum(CHANNELS).optional(),
      })
      .strict(),
    run: async ({ body, principal, now }) =>
      cardView(
        await lookupCard(body.code, cardVisibility(principal), {
          ...(body.pin === undefined ? {} : { pin: body.pin }),
          ...(body.channel ? { channel: body.channel } : {}),
          // Staff see why; a merchant cannot tell a wrong PIN from an unknown code.
          revealPinErrors: principal.type === 'staff',
        }),
        now,
      ),
  }),
  'GET /v1/cards/{cardId}': operation({
    summary: 'Get a card',
    response: cardSchema,
    run: async ({ params, principal, now }) =>
      cardView(await getCard(cardId(params), cardVisibility(principal)), now),
  }),
  'POST /v1/cards/{cardId}/activate': cardVerb(
    'Activate a pending card, optionally with value',
    { amount: amountOrZero.default(0) },
    (body) => ({
      type: 'ACTIVATE',
      amount: body.amount,
    }),
  ),
  'POST /v1/cards/activate': operation({
    summary:
      'Activate a scanned physical card at the till: its denomination, or the amount paid (open value)',
    response: cardChangeSchema,
    body: z
      .object({
        code: z.string().min(1).max(64),
        amount: amount
          .optional()
          .describe("required for open value; for a fixed value it must be the card's"),
        ...requestContextFields,
      })
      .strict(),
    run: async (request) => {
      const { code, amount: paid } = request.body;
      const committed = await activateAtTill(
        code,
        paid,
        operationContext(request),
        cardVisibility(request.principal),
        {
          claim: request.idempotency,
          ...(request.deadlineMs === undefined ? {} : { deadlineMs: request.deadlineMs }),
        },
      );
      return answerOf(committed, (result) => ({
        transaction: transactionView(result.transaction),
        card: cardView(result.card, request.now),
      }));
    },
  }),
  'POST /v1/cards/{cardId}/load': cardVerb('Load value onto a card', { amount }, (body) => ({
    type: 'LOAD',
    amount: body.amount,
  })),
  'POST /v1/cards/{cardId}/redeem': cardVerb(
    'Redeem (spend) value, in full or in part',
    { amount, allowPartial: z.boolean().optional() },
    (body) => ({
      type: 'REDEEM',
      amount: body.amount,
      allowPartial: body.allowPartial ?? false,
    }),
  ),
  'POST /v1/cards/{cardId}/adjust': cardVerb(
    'Staff adjustment with a mandatory reason',
    {
      amount: z
        .number()
        .int()
        .min(-1_000_000_000_000)
        .max(1_000_000_000_000)
        .refine((n) => n !== 0, 'must not be 0'),
      reason,
    },
    (body) => ({ type: 'ADJUST', amount: body.amount, reason: body.reason }),
  ),
  'POST /v1/cards/{cardId}/block': cardVerb('Block a card', { reason: reason.optional() }, (body) => ({
    type: 'BLOCK',
    ...(body.reason ? { reason: body.reason } : {}),
  })),
  'POST /v1/cards/{cardId}/unblock': cardVerb('Unblock a card', { reason: reason.optional() }, (body) => ({
    type: 'UNBLOCK',
    ...(body.reason ? { reason: body.reason } : {}),
  })),
  'POST /v1/cards/{cardId}/deactivate': cardVerb(
    'Deactivate a card for good',
    { reason: reason.optional() },
    (body) => ({
      type: 'DEACTIVATE',
      ...(body.reason ? { reason: body.reason } : {}),
    }),
  ),
  'POST /v1/cards/{cardId}/refund': cardVerb(
    'Refund onto a card, optionally against a redemption',
    { amount, transactionId: z.string().max(64).optional() },
    (body) => ({
      type: 'REFUND',
      amount: body.amount,
      ...(body.transactionId ? { transactionId: body.transactionId } : {}),
    }),
  ),
  'POST /v1/cards/{cardId}/holds': cardVerb(
    'Place an authorisation hold',
    { amount, expiresInSeconds: z.number().int().min(MIN_HOLD_SECONDS).max(MAX_HOLD_SECONDS).optional() },
    (body) => ({
      type: 'HOLD',
      amount: body.amount,
      expiresInSeconds: body.expiresInSeconds ?? DEFAULT_HOLD_SECONDS,
    }),
    201,
  ),
  'GET /v1/cards/{cardId}/holds/{holdId}': operation({
    summary: 'Get a hold',
    response: holdSchema,
    run: async ({ params, principal }) => {
      const id = cardId(params);
      await getCard(id, cardVisibility(principal));
      const hold = await findHold(id, holdId(params));
      // Another merchant's hold on a shared program is as unknown as a missing one.
      if (!hold || (hold.merchantId !== undefined && !ownsEntry(actorOf(principal), hold)))
        throw notFound('The hold');
      return holdView(hold);
    },
  }),
  'GET /v1/cards/{cardId}/holds': operation({
    summary: "The card's open holds (a merchant sees its own)",
    query: z.object(listQuery).strict(),
    response: pageSchema(holdSchema),
    run: async ({ params, query, principal }) => {
      const id = cardId(params);
      await getCard(id, cardVisibility(principal));
      const viewer = actorOf(principal);
      const page = await openHolds(id, query.limit, query.cursor);
      const mine = page.items.filter((hold) =>
        hold.merchantId === undefined ? viewer.type !== 'merchant' : ownsEntry(viewer, hold),
      );
      return pageView({ items: mine, nextCursor: page.nextCursor }, holdView);
    },
  }),
  'POST /v1/cards/{cardId}/holds/{holdId}/capture': cardVerb(
    'Capture all or part of a hold',
    { amount: amount.optional() },
    (body, params) => ({
      type: 'CAPTURE',
      holdId: holdId(params),
      ...(body.amount !== undefined ? { amount: body.amount } : {}),
    }),
  ),
  'POST /v1/cards/{cardId}/holds/{holdId}/void': cardVerb('Void a hold', {}, (_body, params) => ({
    type: 'VOID',
    holdId: holdId(params),
  })),
  'POST /v1/cards/{cardId}/transfer': operation({
    summary: 'Transfer value to another card of the same currency',
    response: transferSchema,
    body: z
      .object({
        toCardId: entityId('gc'),
        amount: amount.optional(),
        // The source card's PIN, where its program wants one for spending (core/card-policy.ts).
        pin: pinField.optional(),
        ...requestContextFields,
      })
      .strict(),
    run: async (request) => {
      const committed = await transferValue(
        cardId(request.params),
        request.body.toCardId,
        request.body.amount,
        operationContext(request),
        cardVisibility(request.principal),
        { claim: request.idempotency, pin: request.body.pin, deadlineMs: request.deadlineMs },
      );
      return answerOf(committed, (result) => ({
        transaction: transactionView(result.transaction),
        card: cardView(result.card, request.now),
        destination: {
          transaction: transactionView(result.counterpart.transaction),
          card: cardView(result.counterpart.card, request.now),
        },
      }));
    },
  }),
  'POST /v1/cards/{cardId}/cash-out': cardVerb(
    'Cash out (clear) the balance where the program allows it',
    { reason: reason.optional() },
    (body) => ({
      type: 'CLEAR_BALANCE',
      ...(body.reason ? { reason: body.reason } : {}),
    }),
  ),
  'POST /v1/cards/{cardId}/reissue': operation({
    summary:
      'Support: replace the card in one action (a new card takes the whole balance; the old one is deactivated)',
    body: z.object({ reason, ...requestContextFields }).strict(),
    response: reissueSchema,
    run: async (request) => {
      const committed = await reissueCard(
        cardId(request.params),
        request.body.reason,
        operationContext(request),
        cardVisibility(request.principal),
        { claim: request.idempotency, deadlineMs: request.deadlineMs },
      );
      return answerOf(committed, (result) => ({
        card: cardView(result.card, request.now),
        replacement: { card: cardView(result.replacement.card, request.now), code: result.replacement.code },
        transactions: result.transactions.map(transactionView),
      }));
    },
  }),
  'PUT /v1/cards/{cardId}/pin': operation({
    summary: 'Set or change the card PIN (a merchant changing one gives the current PIN)',
    response: cardChangeSchema,
    body: z.object({ pin: pinField, currentPin: pinField.optional(), ...requestContextFields }).strict(),
    run: async (request) => {
      const { result } = await setPin(
        cardId(request.params),
        request.body.pin,
        request.body.currentPin,
        operationContext(request),
        cardVisibility(request.principal),
      );
      return { transaction: transactionView(result.transaction), card: cardView(result.card, request.now) };
    },
  }),
  'POST /v1/cards/{cardId}/pin/verify': operation({
    summary: 'Check a PIN (counts toward the lock after 5 wrong ones)',
    status: 204,
    body: z.object({ pin: pinField }).strict(),
    run: async ({ params, principal, body }) => {
      const card = await getCard(cardId(params), cardVisibility(principal));
      const check = await checkPin(card.id, body.pin);
      if (check !== 'OK') throw pinRefusal(check);
      return undefined;
    },
  }),
  'POST /v1/cards/{cardId}/pin/reset': operation({
    summary: 'Support: clear the PIN lock, and the PIN or set a new one',
    response: cardChangeSchema,
    body: z.object({ pin: pinField.optional(), reason, ...requestContextFields }).strict(),
    run: async (request) => {
      if (request.body.pin !== undefined) checkNewPin(request.body.pin);
      const committed = await changeCard(
        cardId(request.params),
        {
          type: 'PIN_RESET',
          reason: request.body.reason,
          ...(request.body.pin === undefined ? {} : { hashed: hashPin(request.body.pin) }),
        },
        operationContext(request),
        cardVisibility(request.principal),
        { claim: request.idempotency, deadlineMs: request.deadlineMs },
      );
      return answerOf(committed, (result) => ({
        transaction: transactionView(result.transaction),
        card: cardView(result.card, request.now),
      }));
    },
  }),
  'GET /v1/cards/{cardId}/transactions': operation({
    summary: "The card's ledger, newest first",
    query: z.object(listQuery).strict(),
    response: pageSchema(transactionSchema),
    run: async ({ params, query, principal }) => {
      const id = cardId(params);
      await getCard(id, cardVisibility(principal));
      const viewer = actorOf(principal);
      // Another merchant's entries on a shared program show what they did to the balance, not where.
      return pageView(await cardHistory(id, query.limit, query.cursor), (entry) =>
        mayReadEntry(viewer, entry) ? transactionView(entry) : othersEntryView(entry),
      );
    },
  }),
};

export const handler = apiHandler('cards', operations);
