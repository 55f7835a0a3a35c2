import type { CardVisibility } from '../app/card-change';
import { getCard } from '../app/card-lookup';
import { config } from '../config';
import {
  applePassToken,
  passLastModified,
  passTokenHash,
  planApplePass,
  unchangedSince,
} from '../core/apple-pass';
import { appleCertificates } from '../store/apple-certificates';
import { type ApplePass, findApplePass, rememberApplePass } from '../store/apple-passes';
import { findCard } from '../store/card-reads';
import { getProgram, warmProgramCache } from '../store/programs';
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
 * The card, its program and its latest message, read together after the pass item (its version) was
 * read or written: a change committed after these reads gets a later version from wallet-sync, and the
 * device fetches again. Consistent reads (store/cards.ts, store/wallet-messages.ts).
 */
async function passContent(cardId: string) {
  const card = await findCard(cardId);
  if (!card) return undefined;
  const [message, program] = await Promise.all([
    latestWalletMessage(card.id, card.programId),
    getProgram(card.programId, { cached: true }),
  ]);
  return { card, message, program };
}

async function signPass(
  content: NonNullable<Awaited<ReturnType<typeof passContent>>>,
  pass: ApplePass,
  now: Date,
): Promise<SignedApplePass> {
  const [certificates, secret] = await Promise.all([appleCertificates(), sealingPepper()]);
  const plan = planApplePass(
    content.card,
    content.program,
    content.message,
    {
      passTypeIdentifier: certificates.passTypeIdentifier,
      teamIdentifier: certificates.teamIdentifier,
      webServiceURL: webServiceURL(),
      authenticationToken: applePassToken(secret, content.card.id),
    },
    now,
  );
  return { pkpass: buildApplePass(plan, certificates, now), lastModified: passLastModified(pass.version) };
}

/**
 * The card's pass for a download through the API. Primary course: read the pass item (usually started
 * while the caller was authenticated), then the card (`visible` answers 404 for a card the caller may not
 * see), record the pass at its first download and read the card again after that, then read its message
 * and program, and sign. The pass item is always read before the card that is served: a change committed
 * after that read gets a later version from wallet-sync, and the device fetches it.
 */
export async function downloadApplePass(
  cardId: string,
  visible: CardVisibility,
  now: Date,
  passRead: Promise<ApplePass | undefined> = findApplePass(cardId),
): Promise<SignedApplePass & { readonly cardId: string }> {
  const [certificates, secret, stored] = await Promise.all([appleCertificates(), sealingPepper(), passRead]);
  let card = await getCard(cardId, visible);
  warmProgramCache([card.programId]);
  const tokenHash = passTokenHash(applePassToken(secret, card.id));
  let pass = stored;
  if (!pass || pass.tokenHash !== tokenHash || pass.passTypeIdentifier !== certificates.passTypeIdentifier) {
    pass = await rememberApplePass({
      cardId: card.id,
      tokenHash,
      passTypeIdentifier: certificates.passTypeIdentifier,
      createdAt: now.toISOString(),
    });
    card = (await findCard(card.id)) ?? card;
  }
  const [message, program] = await Promise.all([
    latestWalletMessage(card.id, card.programId),
    getProgram(card.programId, { cached: true }),
  ]);
  return { cardId: card.id, ...(await signPass({ card, message, program }, pass, now)) };
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
  /** The pass item as the token check read it (functions/http/pass-auth.ts), before anything else. */
  passRead: Promise<ApplePass | undefined> = findApplePass(cardId),
): Promise<DevicePassAnswer | undefined> {
  const pass = await passRead;
  if (!pass) return undefined;
  const lastModified = passLastModified(pass.version);
  if (ifModifiedSince && unchangedSince(pass.version, ifModifiedSince)) {
    return { kind: 'not-modified', lastModified };
  }
  const content = await passContent(cardId);
  if (!content) return undefined;
  if (!withBody) return { kind: 'pass', lastModified };
  return { kind: 'pass', ...(await signPass(content, pass, now)) };
}

/** The pass type this deployment signs (the path's `{passTypeIdentifier}` must name it). */
export async function applePassTypeIdentifier(): Promise<string> {
  return (await appleCertificates()).passTypeIdentifier;
}
