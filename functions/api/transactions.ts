import { notFound } from '../core/errors';
import { apiHandler, operation } from '../http/api-handler';
import { cardVisibility } from '../http/auth';
import { transactionView } from '../http/views';
import { getTransaction } from '../store/cards';

export const handler = apiHandler('transactions', {
  'GET /v1/transactions/{transactionId}': operation({
    run: async ({ params, principal }) => {
      const id = params.transactionId;
      if (!id) throw notFound('The transaction');
      return transactionView(await getTransaction(id, cardVisibility(principal)));
    },
  }),
});
