import { apiHandler, type Operations, operation, RawResponse } from '../http/api-handler';
import { docsPage, openApiDocument } from '../http/openapi';

/**
 * The reference is built on first use from every route group's operations, imported then: the health
 * check, the most frequent call of this function, never loads the other groups' code (card store, pass
 * signing...), which would slow every cold start of it.
 */
let document: Promise<ReturnType<typeof openApiDocument>> | undefined;
const reference = () => {
  document ??= (async () => {
    const [
      cards,
      exports,
      fraud,
      googleWallet,
      merchants,
      programs,
      reports,
      transactions,
      wallet,
      webhooks,
    ] = await Promise.all([
      import('./cards'),
      import('./exports'),
      import('./fraud'),
      import('./google-wallet'),
      import('./merchants'),
      import('./programs'),
      import('./reports'),
      import('./transactions'),
      import('./wallet'),
      import('./webhooks'),
    ]);
    return openApiDocument({
      system: operations,
      programs: programs.operations,
      merchants: merchants.operations,
      cards: cards.operations,
      transactions: transactions.operations,
      webhooks: webhooks.operations,
      fraud: fraud.operations,
      reports: reports.operations,
      exports: exports.operations,
      wallet: wallet.operations,
      'google-wallet': googleWallet.operations,
    });
  })().catch((error: unknown) => {
    document = undefined;
    throw error;
  });
  return document;
};

export const operations: Operations = {
  'GET /health': operation({ summary: 'Liveness check', run: async () => ({ status: 'ok' }) }),
  'GET /openapi.json': operation({
    summary: 'This API as an OpenAPI 3.1 document',
    run: async () => reference(),
  }),
  'GET /docs': operation({
    summary: 'A readable API reference',
    run: async () =>
      new RawResponse(
        200,
        { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'public, max-age=300' },
        docsPage(await reference()),
      ),
  }),
};

export const handler = apiHandler('system', operations);
