/**
 * `npm run openapi`: regenerates functions/http/openapi.json, the API reference the `system` function
 * serves, from the route table and the operations' zod schemas, and the web apps' API types generated from
 * it (web/src/shared/api-schema.d.ts). Run it after changing a route, a summary or a schema;
 * test/integration/openapi.test.ts fails until both files are current.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, OPENAPI_FILE, openApiFileText } from './openapi-document';
import { WEB_API_TYPES_FILE, webApiTypesText } from './openapi-types';

const document = await buildOpenApiDocument();
writeFileSync(OPENAPI_FILE, openApiFileText(document));
console.log(`Wrote ${fileURLToPath(OPENAPI_FILE)}`);
writeFileSync(WEB_API_TYPES_FILE, await webApiTypesText(document));
console.log(`Wrote ${fileURLToPath(WEB_API_TYPES_FILE)}`);
