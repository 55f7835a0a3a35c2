/**
 * `npm run openapi`: regenerates functions/http/openapi.json, the API reference the `system` function
 * serves, from the route table and the operations' zod schemas. Run it after changing a route, a
 * summary or a schema; test/integration/openapi.test.ts fails until the file is current.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, OPENAPI_FILE, openApiFileText } from './openapi-document';

writeFileSync(OPENAPI_FILE, openApiFileText(buildOpenApiDocument()));
console.log(`Wrote ${fileURLToPath(OPENAPI_FILE)}`);
