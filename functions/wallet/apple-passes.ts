import { config } from '../config';
import {
  applePassToken,
  passLastModified,
  passTokenHash,
  planApplePass,
  unchangedSince,
} from '../core/apple-pass';
import type { Card } from '../core/card';
import { appleCertificates } from '../store/apple-certificates';
import { type ApplePass, findApplePass, rememberApplePass } from '../store/apple-passes';
import { findCard } from '../store/cards';
import { getProgram } from '../store/programs';
import { sealingPepper } from '../store/secrets';
import { latestWalletMessage } from '../store/wallet-messages';
import { buildApplePass } from './apple-pass-builder';

/** The path under the public base URL where Apple's PassKit web service is served. */
export const APPLE_WEB_SERVICE_PATH = '/wallet/apple';

function webServiceURL(): string {
  const base = config().PUBLIC_BASE_URL;
  if (!base) throw new Error('Apple Wallet passes are not configured: set PUBLIC_BASE_URL');
  return `${base}${APPLE_WEB_SERVICE_PATH}`;
}

export interface SignedApplePass {
  readonly pkpass: Buffer;
  /** HTTP date of the pass's version. */
  readonly lastModified: string;
}

/**
 * Signs the pass of `card` at `pass.version`. The version must have been read before the card: a change
 * committed after the card was read then gets a later version, and the device fetches again.
 */
async function signPass(card: Card, pass: ApplePass, now: Date): Promise<SignedApplePass> {
  const [program, message, certificates, secret] = await Promise.all([
    getProgram(card.programId, { cached: true }),
    latestWalletMessage(card.id, card.programId),
    appleCertificates(),
    sealingPepper(),
  ]);
  const plan = planApplePass(
    card,
    program,
    message,
    {
      passTypeIdentifier: certificates.passTypeIdentifier,
      teamIdentifier: certificates.teamIdentifier,
      webServiceURL: webServiceURL(),
      authenticationToken: applePassToken(secret, card.id),
    },
    now,
  );
  return { pkpass: buildApplePass(plan, certificates, now), lastModified: passLastModified(pass.version) };
}

/**
 * The card's pass for a download through the API. Primary course: record the pass (its token's hash) at
 * first download, then read the card again (consistently, after the pass item exists, so wallet-sync
 * versions every later change), then sign it.
 */
export async function downloadApplePass(card: Card, now: Date): Promise<SignedApplePass> {
  const [certificates, secret] = await Promise.all([appleCertificates(), sealingPepper()]);
  const pass = await rememberApplePass({
    cardId: card.id,
    tokenHash: passTokenHash(applePassToken(secret, card.id)),
    passTypeIdentifier: certificates.passTypeIdentifier,
    createdAt: now.toISOString(),
  });
  return signPass((await findCard(card.id)) ?? card, pass, now);
}

export type DevicePassAnswer =
  | { readonly kind: 'not-modified'; readonly lastModified: string }
  | { readonly kind: 'pass'; readonly lastModified: string; readonly pkpass?: Buffer };

/**
 * The pass a device asks for (Apple's "get the latest version of a pass"): the version first, then the
 * card (both consistent reads), 304 when the device holds that version, else the signed pass (not signed
 * for a HEAD). Undefined when the pass or its card is gone.
 */
export async function devicePassAnswer(
  cardId: string,
  ifModifiedSince: Date | undefined,
  now: Date,
  withBody: boolean,
): Promise<DevicePassAnswer | undefined> {
  const pass = await findApplePass(cardId);
  if (!pass) return undefined;
  const lastModified = passLastModified(pass.version);
  if (ifModifiedSince && unchangedSince(pass.version, ifModifiedSince)) {
    return { kind: 'not-modified', lastModified };
  }
  const card = await findCard(cardId);
  if (!card) return undefined;
  if (!withBody) return { kind: 'pass', lastModified };
  return { kind: 'pass', ...(await signPass(card, pass, now)) };
}

/** The pass type this deployment signs (the path's `{passTypeIdentifier}` must name it). */
export async function applePassTypeIdentifier(): Promise<string> {
  return (await appleCertificates()).passTypeIdentifier;
}
