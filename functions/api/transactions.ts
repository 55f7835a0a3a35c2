import * as z from 'zod';
import { getTransaction } from '../app/card-lookup';
import { reverseByIdempotencyKey, reverseTransaction, type TimeoutReversal } from '../app/reversals';
import { notFound } from '../core/errors';
import { answerOf, apiHandler, type Operations, operation, readAhead } from '../http/api-handler';
import { actorOf, cardVisibility, principalScope } from '../http/auth';
import { operationContext } from '../http/operation-context';
import { reversalSchema, transactionSchema } from '../http/response-schemas/cards';
import { requestContextFields } from '../http/validation';
import { cardView, transactionView } from '../http/views';
import { readEntryAndCard } from '../store/card-reads';

const transactionIdOf = (params: Readonly<Record<string, string>>) => {
  const id = params.transactionId;
  if (!id || !/^tx_[0-9a-z]{26}_[1-9][0-9]{0,9}$/.test(id)) throw notFound('The transaction');
  return id;
};

function reversalView(outcome: TimeoutReversal, now: Date) {
  if (outcome.status === 'NOTHING_TO_REVERSE')
    return { status: outcome.status, reversed: null, reversal: null, card: null };
  return {
    status: outcome.status,
    reversed: transactionView(outcome.reversed),
    reversal: transactionView(outcome.reversal),
    card: outcome.status === 'REVERSED' ? cardView(outcome.card, now) : null,
  };
}

export const operations: Operations = {
  'GET /v1/transactions/{transactionId}': operation({
    summary: 'Get one ledger entry',
    response: transactionSchema,
    // The entry and its card are read while the caller is authenticated (a cold or quiet instance).
    early: (params) =>
      params.transactionId ? readAhead(() => readEntryAndCard(params.transactionId as string)) : undefined,
    run: async ({ params, principal, early }) => {
      const id = transactionIdOf(params);
      const read = early as ReturnType<typeof readEntryAndCard> | undefined;
      return transactionView(await getTransaction(id, cardVisibility(principal), actorOf(principal), read));
    },
  }),
  'POST /v1/transactions/{transactionId}/reverse': operation({
    summary: 'Reverse a redemption, capture, load or activation once',
    response: reversalSchema,
    body: z.object({ ...requestContextFields }).strict(),
    run: async (request) =>
      answerOf(
        await reverseTransaction(
          transactionIdOf(request.params),
          operationContext(request),
          cardVisibility(request.principal),
          { claim: request.idempotency, deadlineMs: request.deadlineMs },
        ),
        (outcome) => reversalView(outcome, request.now),
      ),
  }),
  'POST /v1/reversals': operation({
    summary: "POS timeout reversal by the lost request's Idempotency-Key",
    response: reversalSchema,
    body: z
      .object({
        idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,255}$/, '1-255 visible ASCII characters'),
        ...requestContextFields,
      })
      .strict(),
    run: async (request) =>
      reversalView(
        await reverseByIdempotencyKey(
          { scope: principalScope(request.principal), key: request.body.idempotencyKey },
          operationContext(request),
          cardVisibility(request.principal),
        ),
        request.now,
      ),
  }),
};

export const handler = apiHandler('transactions', operations);
