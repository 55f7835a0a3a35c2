/**
 * The OpenAPI document built from every route group's operations (functions/http/openapi.ts). It is
 * generated ahead of time into functions/http/openapi.json (`npm run openapi`), which the `system`
 * function serves: that function then bundles no route group (card store, pass signing, every zod
 * schema), which kept its cold start at twice the others. test/integration/openapi.test.ts fails when
 * the checked-in file differs from what this builds.
 */
import { operations as bulk } from '../functions/api/bulk';
import { operations as cards } from '../functions/api/cards';
import { operations as care } from '../functions/api/care';
import { operations as delivery } from '../functions/api/delivery';
import { operations as exports } from '../functions/api/exports';
import { operations as fraud } from '../functions/api/fraud';
import { operations as googleWallet } from '../functions/api/google-wallet';
import { operations as loyalty } from '../functions/api/loyalty';
import { operations as members } from '../functions/api/members';
import { operations as merchants } from '../functions/api/merchants';
import { operations as ops } from '../functions/api/ops';
import { operations as portal } from '../functions/api/portal';
import { operations as production } from '../functions/api/production';
import { operations as programs } from '../functions/api/programs';
import { operations as reports } from '../functions/api/reports';
import { operations as system } from '../functions/api/system';
import { operations as transactions } from '../functions/api/transactions';
import { operations as wallet } from '../functions/api/wallet';
import { operations as webhooks } from '../functions/api/webhooks';
import { type OpenApiDocument, openApiDocument } from '../functions/http/openapi';

export const OPENAPI_FILE = new URL('../functions/http/openapi.json', import.meta.url);

/** Every route group's operations, by function name. */
export const ALL_OPERATIONS = {
  system,
  programs,
  merchants,
  cards,
  transactions,
  webhooks,
  fraud,
  'google-wallet': googleWallet,
  wallet,
  reports,
  exports,
  portal,
  care,
  ops,
  loyalty,
  members,
  production,
  bulk,
  delivery,
};

export const buildOpenApiDocument = (): Promise<OpenApiDocument> => openApiDocument(ALL_OPERATIONS);

/** The file's exact text: stable key order (as built), two-space indent, final newline. */
export const openApiFileText = (document: OpenApiDocument): string =>
  `${JSON.stringify(document, null, 2)}\n`;
