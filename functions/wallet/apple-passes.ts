import { config } from '../config';
import { applePassToken, passLastModified, passTokenHash, planApplePass } from '../core/apple-pass';
import type { Card } from '../core/card';
import { appleCertificates } from '../store/apple-certificates';
import { rememberApplePass } from '../store/apple-passes';
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

/** When the card's pass last changed: the card itself, or a newer message to it or its program. */
export async function applePassLastModified(card: Card): Promise<Date> {
  return passLastModified(card, await latestWalletMessage(card.id, card.programId));
}

/**
 * The card's pass as it is now, signed. Primary course: read the program, the latest message, the
 * certificates and the token secret; record the pass (its token's hash) at first download; plan the
 * pass.json; sign and zip it.
 */
export async function currentApplePass(
  card: Card,
  now: Date,
): Promise<{ pkpass: Buffer; lastModified: Date }> {
  const [program, message, certificates, secret] = await Promise.all([
    getProgram(card.programId, { cached: true }),
    latestWalletMessage(card.id, card.programId),
    appleCertificates(),
    sealingPepper(),
  ]);
  const authenticationToken = applePassToken(secret, card.id);
  await rememberApplePass({
    cardId: card.id,
    tokenHash: passTokenHash(authenticationToken),
    passTypeIdentifier: certificates.passTypeIdentifier,
    createdAt: now.toISOString(),
  });
  const pass = planApplePass(
    card,
    program,
    message,
    {
      passTypeIdentifier: certificates.passTypeIdentifier,
      teamIdentifier: certificates.teamIdentifier,
      webServiceURL: webServiceURL(),
      authenticationToken,
    },
    now,
  );
  return { pkpass: buildApplePass(pass, certificates), lastModified: passLastModified(card, message) };
}

/** The pass type this deployment signs (the path's `{passTypeIdentifier}` must name it). */
export async function applePassTypeIdentifier(): Promise<string> {
  return (await appleCertificates()).passTypeIdentifier;
}
