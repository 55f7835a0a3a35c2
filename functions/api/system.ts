import { apiHandler, type Operations, operation, RawResponse } from '../http/api-handler';
import { docsPage, openApiDocument } from '../http/openapi';
import { operations as cards } from './cards';
import { operations as exports } from './exports';
import { operations as fraud } from './fraud';
import { operations as googleWallet } from './google-wallet';
import { operations as merchants } from './merchants';
import { operations as programs } from './programs';
import { operations as reports } from './reports';
import { operations as transactions } from './transactions';
import { operations as wallet } from './wallet';
import { operations as webhooks } from './webhooks';

let document: ReturnType<typeof openApiDocument> | undefined;
const reference = () => {
  document ??= openApiDocument({
    system: operations,
    programs,
    merchants,
    cards,
    transactions,
    webhooks,
    fraud,
    reports,
    exports,
    wallet,
    'google-wallet': googleWallet,
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
        docsPage(reference()),
      ),
  }),
};

export const handler = apiHandler('system', operations);
