import { apiHandler, type Operations, operation, RawResponse } from '../http/api-handler';
import { docsPage, type OpenApiDocument } from '../http/openapi';
import openApiJson from '../http/openapi.json';
import { healthSchema, openApiDocumentSchema } from '../http/response-schemas/system';

/**
 * The API reference is generated ahead of time from every route group's operations (`npm run openapi`
 * writes functions/http/openapi.json; test/integration/openapi.test.ts fails when it is stale), so this
 * function bundles no other route group: its cold start, mostly the health check, stays that of a small
 * handler. The HTML page is rendered from it on first use.
 */
const document = openApiJson as unknown as OpenApiDocument;
let page: string | undefined;

export const operations: Operations = {
  'GET /health': operation({
    summary: 'Liveness check',
    response: healthSchema,
    run: async () => ({ status: 'ok' }),
  }),
  'GET /openapi.json': operation({
    summary: 'This API as an OpenAPI 3.1 document',
    response: openApiDocumentSchema,
    run: async () => document,
  }),
  'GET /docs': operation({
    summary: 'A readable API reference',
    contentType: 'text/html',
    run: async () => {
      page ??= docsPage(document);
      return new RawResponse(
        200,
        { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'public, max-age=300' },
        page,
      );
    },
  }),
};

export const handler = apiHandler('system', operations);
