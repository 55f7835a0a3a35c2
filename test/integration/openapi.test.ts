import { describe, expect, it } from 'vitest';
import { operations as cards } from '../../functions/api/cards';
import { operations as exports } from '../../functions/api/exports';
import { operations as fraud } from '../../functions/api/fraud';
import { operations as googleWallet } from '../../functions/api/google-wallet';
import { operations as merchants } from '../../functions/api/merchants';
import { operations as programs } from '../../functions/api/programs';
import { operations as reports } from '../../functions/api/reports';
import { operations as system } from '../../functions/api/system';
import { operations as transactions } from '../../functions/api/transactions';
import { operations as wallet } from '../../functions/api/wallet';
import { operations as webhooks } from '../../functions/api/webhooks';
import { docsPage, openApiDocument } from '../../functions/http/openapi';
import { ROUTES, routeKey } from '../../functions/http/route-table';

const all = {
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
};
const document = openApiDocument(all);

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route of the route table, each with a summary and its callers', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as
        | { summary: string; description: string }
        | undefined;
      expect(operation, routeKey(route)).toBeDefined();
      expect(operation?.summary.length, routeKey(route)).toBeGreaterThan(5);
      expect(operation?.description, routeKey(route)).toMatch(/Callers|Anyone/);
    }
  });

  it('every route with a body or query has the schema its handler validates with', () => {
    for (const route of ROUTES) {
      const operation = all[route.fn][routeKey(route)];
      const documented = document.paths[route.path]?.[route.method.toLowerCase()] as {
        requestBody?: { content: { 'application/json': { schema: { properties?: object } } } };
        parameters: { name: string; in: string }[];
      };
      if (['POST', 'PUT', 'PATCH'].includes(route.method)) {
        expect(operation?.body, `${routeKey(route)} declares no body schema`).toBeDefined();
        expect(documented.requestBody?.content['application/json'].schema, routeKey(route)).toBeTypeOf(
          'object',
        );
      }
      if (route.method === 'GET' && operation?.query) {
        expect(
          documented.parameters.some((p) => p.in === 'query'),
          routeKey(route),
        ).toBe(true);
      }
      for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
        expect(documented.parameters.map((p) => p.name)).toContain(name.slice(1, -1));
      }
    }
  });

  it('documents the money rules as the validator enforces them', () => {
    const redeem = document.paths['/v1/cards/{cardId}/redeem']?.post as {
      requestBody: {
        content: {
          'application/json': {
            schema: { properties: Record<string, Record<string, unknown>>; additionalProperties: boolean };
          };
        };
      };
    };
    const schema = redeem.requestBody.content['application/json'].schema;
    expect(schema.properties.amount).toMatchObject({ type: 'integer', minimum: 1 });
    expect(schema.additionalProperties).toBe(false);
  });

  it('renders a readable reference page with every route and no script', () => {
    const html = docsPage(document);
    for (const route of ROUTES) expect(html).toContain(route.path.replaceAll('&', '&amp;'));
    expect(html).not.toMatch(/<script/i);
  });
});
