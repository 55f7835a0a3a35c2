import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { STAFF_ROLES, type StaffRole } from '../functions/http/route-table';
import { LocalRuntimeError } from './errors';
import type { LocalLog } from './log';
import type { StaffIssuer } from './staff-issuer';

/** What `npm start` writes to .local/demo.json: everything needed to call the API right away. */
export interface DemoData {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly staffTokens: Record<StaffRole, string>;
  readonly programId: string;
  readonly merchantId: string;
}

export const DEMO_PROGRAM = {
  name: 'Demo Gift Card',
  currency: 'USD',
  minLoad: 500,
  maxLoad: 50_000,
  maxBalance: 100_000,
} as const;

interface SeedOptions {
  readonly baseUrl: string;
  readonly issuer: StaffIssuer;
  /** .local/demo.json */
  readonly file: string;
  /** Seed again even when the file exists. */
  readonly fresh?: boolean;
  readonly log: LocalLog;
}

async function mintAll(issuer: StaffIssuer): Promise<Record<StaffRole, string>> {
  const entries = await Promise.all(
    STAFF_ROLES.map(async (role) => [role, await issuer.mintStaffToken(role)] as const),
  );
  return Object.fromEntries(entries) as Record<StaffRole, string>;
}

/** A call to the public API; any answer but the expected status stops the seed with what the API said. */
async function call(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { detail: text.slice(0, 200) };
  }
  return { status: response.status, body: parsed };
}

async function create(
  baseUrl: string,
  token: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const answer = await call(baseUrl, token, 'POST', path, body);
  if (answer.status !== 201) {
    const detail = [answer.body.code, answer.body.detail ?? answer.body.title].filter(Boolean).join(': ');
    throw new LocalRuntimeError(
      `Seeding the demo data failed: POST ${path} answered ${answer.status} (${detail}).`,
    );
  }
  return answer.body;
}

function stringField(body: Record<string, unknown>, field: string, path: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new LocalRuntimeError(`Seeding the demo data failed: POST ${path} returned no "${field}".`);
  }
  return value;
}

/** Creates the demo program, merchant and API key through the public HTTP API, as an admin would. */
async function seedThroughApi(baseUrl: string, adminToken: string) {
  const program = await create(baseUrl, adminToken, '/v1/programs', DEMO_PROGRAM);
  const programId = stringField(program, 'id', '/v1/programs');
  // On the high-volume usage plan: the demo key is what load tests and benchmarks hammer.
  const merchant = await create(baseUrl, adminToken, '/v1/merchants', {
    name: 'Demo Store',
    programs: [programId],
    usagePlan: 'high-volume',
  });
  const merchantId = stringField(merchant, 'id', '/v1/merchants');
  const keyPath = `/v1/merchants/${encodeURIComponent(merchantId)}/api-keys`;
  const key = await create(baseUrl, adminToken, keyPath, { description: 'demo till' });
  return { programId, merchantId, apiKey: stringField(key, 'apiKey', keyPath) };
}

/**
 * A PATCH with the merchant's own tier: gives a demo merchant seeded before usage plans its usage key
 * (without one the local gateway answers 403), and changes nothing for one that has it.
 */
async function keepUsagePlan(baseUrl: string, adminToken: string, merchantId: string): Promise<void> {
  const path = `/v1/merchants/${encodeURIComponent(merchantId)}`;
  const merchant = await call(baseUrl, adminToken, 'GET', path);
  if (merchant.status !== 200) return;
  await call(baseUrl, adminToken, 'PATCH', path, { usagePlan: merchant.body.usagePlan });
}

function readDemo(file: string): DemoData | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const demo = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoData>;
    return typeof demo.apiKey === 'string' &&
      typeof demo.programId === 'string' &&
      typeof demo.merchantId === 'string'
      ? (demo as DemoData)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * First start: seeds the demo data. Later starts reuse .local/demo.json (the data persisted with it)
 * but mint new staff tokens, which expire, and record the current base URL.
 */
export async function seedDemo(options: SeedOptions): Promise<{ demo: DemoData; seeded: boolean }> {
  const staffTokens = await mintAll(options.issuer);
  const previous = options.fresh ? undefined : readDemo(options.file);
  let seeded = false;
  let ids = previous && {
    programId: previous.programId,
    merchantId: previous.merchantId,
    apiKey: previous.apiKey,
  };
  if (ids) {
    const check = await call(
      options.baseUrl,
      staffTokens.admin,
      'GET',
      `/v1/programs/${encodeURIComponent(ids.programId)}`,
    );
    if (check.status === 404) {
      options.log.warn(`The demo program in ${options.file} is gone (data reset?): seeding again.`);
      ids = undefined;
    } else if (check.status !== 200) {
      options.log.warn(
        `Could not check the demo program (GET answered ${check.status}); keeping ${options.file}.`,
      );
    } else {
      await keepUsagePlan(options.baseUrl, staffTokens.admin, ids.merchantId);
    }
  }
  if (!ids) {
    ids = await seedThroughApi(options.baseUrl, staffTokens.admin);
    seeded = true;
  }
  const demo: DemoData = {
    baseUrl: options.baseUrl,
    apiKey: ids.apiKey,
    staffTokens,
    programId: ids.programId,
    merchantId: ids.merchantId,
  };
  mkdirSync(dirname(options.file), { recursive: true });
  writeFileSync(options.file, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
  return { demo, seeded };
}

/** demo.json plus ready-to-paste commands for a first card. */
export function describeDemo(demo: DemoData, file: string): string {
  const issue = JSON.stringify({ programId: demo.programId, type: 'DIGITAL', amount: 2500, activate: true });
  return [
    `Demo data (${file}):`,
    JSON.stringify(demo, null, 2),
    '',
    'Try it:',
    `  export BASE=${demo.baseUrl} API_KEY=${demo.apiKey}`,
    '  # issue a card with 25.00 on it (the answer shows the card id and its code, once)',
    `  curl -s -X POST $BASE/v1/cards -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \\`,
    `    -H "Idempotency-Key: demo-$(date +%s)-$RANDOM" -d '${issue}'`,
    '  # redeem 10.00 from it',
    `  curl -s -X POST $BASE/v1/cards/<cardId>/redeem -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \\`,
    `    -H "Idempotency-Key: demo-$(date +%s)-$RANDOM" -d '{"amount":1000}'`,
    '  # the same as support staff',
    `  curl -s $BASE/v1/cards/<cardId>/transactions -H "Authorization: Bearer $(jq -r .staffTokens.support ${file})"`,
  ].join('\n');
}
