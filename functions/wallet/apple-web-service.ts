import { updatedSerials } from '../core/apple-pass';
import type { Card } from '../core/card';
import { deviceLogLines } from '../core/device-log';
import { DomainError, notFound, validationFailed } from '../core/errors';
import { type Operations, operation, RawResponse } from '../http/api-handler';
import type { Principal } from '../http/auth';
import { logger } from '../logger';
import { registerAppleDevice, removeAppleRegistration } from '../store/apple-passes';
import { deviceUpdateTags } from '../store/apple-update-tags';
import { findCard } from '../store/card-reads';
import { applePassTypeIdentifier, devicePassAnswer } from './apple-passes';

/**
 * Apple's PassKit web service ("Wallet Passes web service"), under the pass's webServiceURL
 * (`<base>/wallet/apple`) + `/v1`, answering exactly what Apple's devices expect:
 *
 *   POST   /devices/{dlid}/registrations/{passType}/{serial}   {pushToken}  201 new, 200 known, 401
 *   DELETE /devices/{dlid}/registrations/{passType}/{serial}                200, 401
 *   GET    /devices/{dlid}/registrations/{passType}?passesUpdatedSince=tag 200 {serialNumbers, lastUpdated}, 204
 *   GET    /passes/{passType}/{serial}   (If-Modified-Since)               200 pkpass + Last-Modified, 304, 401
 *   HEAD   /passes/{passType}/{serial}                                     the same without the pass
 *   POST   /log  {logs}                                                    200
 *
 * Routes with a serial number are authorised by the pass's token before these run
 * (functions/http/pass-auth.ts); the update list and the log are public, as Apple calls them.
 */
const DEVICE_LIBRARY_IDENTIFIER = /^[A-Za-z0-9._-]{1,128}$/;
const PASS_TYPE_IDENTIFIER = /^pass\.[A-Za-z0-9.-]{1,200}$/;

function deviceOf(params: Readonly<Record<string, string>>): string {
  const dlid = params.deviceLibraryIdentifier ?? '';
  if (!DEVICE_LIBRARY_IDENTIFIER.test(dlid)) {
    throw validationFailed([{ field: 'deviceLibraryIdentifier', message: 'letters, digits, . _ - (1-128)' }]);
  }
  return dlid;
}

function passOf(principal: Principal): {
  cardId: string;
  passTypeIdentifier: string;
  tokenHash: string;
  version: string;
  programId?: string;
} {
  if (principal.type !== 'pass') throw new DomainError('UNAUTHENTICATED', 'Send the pass token.');
  return principal;
}

async function passCard(principal: Principal): Promise<Card> {
  const card = await findCard(passOf(principal).cardId);
  // The pass item outlived its card (never happens: cards are not deleted): as if the pass were unknown.
  if (!card) throw new DomainError('UNAUTHENTICATED', 'Send the pass token.');
  return card;
}

const empty = (status: number, headers: Record<string, string> = {}) => new RawResponse(status, headers, '');
const jsonAnswer = (status: number, body: unknown) =>
  new RawResponse(
    status,
    { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    JSON.stringify(body),
  );

/** A Wallet pass answer: the bytes with their media type and the HTTP date of the pass's version. */
export function pkpassResponse(pkpass: Buffer, lastModified: string, filename?: string): RawResponse {
  return new RawResponse(
    200,
    {
      'Content-Type': 'application/vnd.apple.pkpass',
      'Last-Modified': lastModified,
      'Cache-Control': 'no-store',
      ...(filename ? { 'Content-Disposition': `attachment; filename="${filename}"` } : {}),
    },
    pkpass,
  );
}

function ifModifiedSince(headers: Readonly<Record<string, string>> | undefined): Date | undefined {
  const raw = headers?.['if-modified-since'];
  if (!raw || raw.length > 64) return undefined;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : new Date(at);
}

// Loaded on first use: a device fetching its pass validates nothing (api-handler.ts SchemaSource).
const requestSchemas = () => import('../http/request-schemas/wallet');
const responseSchemas = () => import('../http/response-schemas/wallet');

/** The pass answer for GET and HEAD: 304 when the device holds the pass's current version. */
async function passAnswer(
  principal: Principal,
  headers: Readonly<Record<string, string>> | undefined,
  now: Date,
  withBody: boolean,
) {
  const pass = passOf(principal);
  // The version the token check read: the first read of the request, so before the card.
  const answer = await devicePassAnswer(
    pass.cardId,
    ifModifiedSince(headers),
    now,
    withBody,
    Promise.resolve({ ...pass, createdAt: pass.version }),
  );
  // The pass item outlived its card (never happens: cards are not deleted): as if the pass were unknown.
  if (!answer) throw new DomainError('UNAUTHENTICATED', 'Send the pass token.');
  if (answer.kind === 'not-modified') return empty(304, { 'Last-Modified': answer.lastModified });
  if (!answer.pkpass) {
    return empty(200, {
      'Content-Type': 'application/vnd.apple.pkpass',
      'Last-Modified': answer.lastModified,
    });
  }
  return pkpassResponse(answer.pkpass, answer.lastModified);
}

const BASE = '/wallet/apple/v1';
const REGISTRATION = `${BASE}/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}`;
const PASS = `${BASE}/passes/{passTypeIdentifier}/{serialNumber}`;

export const appleWebServiceOperations: Operations = {
  [`POST ${REGISTRATION}`]: operation({
    summary: "Apple Wallet: register a device for the pass's update pushes (201 new, 200 already registered)",
    body: () => requestSchemas().then((schemas) => schemas.registerBody),
    successes: { 201: null, 200: null },
    run: async ({ principal, params, body }) => {
      const pass = passOf(principal);
      const dlid = deviceOf(params);
      const card = await passCard(principal);
      const outcome = await registerAppleDevice(
        {
          cardId: card.id,
          programId: card.programId,
          deviceLibraryIdentifier: dlid,
          passTypeIdentifier: pass.passTypeIdentifier,
          pushToken: body.pushToken,
        },
        pass.tokenHash,
      );
      if (outcome === 'refused') throw new DomainError('UNAUTHENTICATED', 'Send the pass token.');
      return empty(outcome === 'created' ? 201 : 200);
    },
  }),
  [`DELETE ${REGISTRATION}`]: operation({
    summary: 'Apple Wallet: unregister a device from the pass',
    successes: { 200: null },
    run: async ({ principal, params }) => {
      await removeAppleRegistration(passOf(principal).cardId, deviceOf(params));
      return empty(200);
    },
  }),
  [`GET ${BASE}/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}`]: operation({
    summary:
      'Apple Wallet: serial numbers of the passes on this device changed since the tag (204 when none)',
    query: () => requestSchemas().then((schemas) => schemas.updatesQuery),
    successes: { 200: 'application/json', 204: null },
    response: () => responseSchemas().then((schemas) => schemas.applePassUpdatesSchema),
    run: async ({ params, query }) => {
      const dlid = deviceOf(params);
      const passType = params.passTypeIdentifier ?? '';
      if (!PASS_TYPE_IDENTIFIER.test(passType) || passType !== (await applePassTypeIdentifier())) {
        throw notFound('The pass type');
      }
      const { counter, registrations } = await deviceUpdateTags(dlid, passType);
      const since = query.passesUpdatedSince === undefined ? undefined : Number(query.passesUpdatedSince);
      const updates = updatedSerials(registrations, since, counter);
      if (updates.serialNumbers.length === 0) return empty(204);
      return jsonAnswer(200, updates);
    },
  }),
  [`GET ${PASS}`]: operation({
    summary: 'Apple Wallet: the latest version of the pass (304 when unchanged since If-Modified-Since)',
    contentType: 'application/vnd.apple.pkpass',
    successes: { 200: 'application/vnd.apple.pkpass', 304: null },
    run: ({ principal, headers, now }) => passAnswer(principal, headers, now, true),
  }),
  [`HEAD ${PASS}`]: operation({
    summary: 'Apple Wallet: whether the pass changed (the GET without the pass)',
    successes: { 200: null, 304: null },
    run: ({ principal, headers, now }) => passAnswer(principal, headers, now, false),
  }),
  [`POST ${BASE}/log`]: operation({
    summary: "Apple Wallet: a device's error log messages about this service",
    body: () => requestSchemas().then((schemas) => schemas.logBody),
    successes: { 200: null },
    run: async ({ body }) => {
      // Devices report what went wrong with our passes. Anyone may call this: bounded and redacted
      // (core/device-log.ts), in one log line.
      const { lines, omitted } = deviceLogLines(body.logs);
      if (lines.length > 0) logger.warn('Apple Wallet device log', { lines, omitted });
      return empty(200);
    },
  }),
};
