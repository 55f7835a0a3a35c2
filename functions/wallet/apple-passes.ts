import type { CardVisibility } from '../app/card-change';
import { config } from '../config';
import {
  applePassToken,
  passLastModified,
  passTokenHash,
  planApplePass,
  unchangedSince,
} from '../core/apple-pass';
import type { Card } from '../core/card-model';
import { notFound } from '../core/errors';
import type { Program } from '../core/program';
import type { WalletMessage } from '../core/wallet-message';
import { appleCertificates } from '../store/apple-certificates';
import { type ApplePass, findApplePass, rememberApplePass } from '../store/apple-passes';
import { findCard } from '../store/card-reads';
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

interface PassContent {
  readonly card: Card;
  readonly message: WalletMessage | undefined;
  readonly program: Program;
}

/** The program (in a batch the card read sent next joins) and the latest message that applies. */
const programContent = (cardId: string, programId: string) =>
  Promise.all([
    latestWalletMessage(cardId, programId),
    getProgram(programId, { cached: true, batched: true }),
  ]);

/**
 * The card, its program and its latest message, read after the pass item (its version) was read or
 * written: a change committed after these reads gets a later version from wallet-sync, and the device
 * fetches again. Consistent reads (store/card-reads.ts, store/wallet-messages.ts). `programId`: the
 * program the pass item names; the program and the card's and program's latest messages (their
 * LATESTWALLETMSG items) are then read alongside the card, all in one BatchGetItem, and again after it
 * only if the card names another program (it never does).
 */
async function passContent(cardId: string, programId?: string): Promise<PassContent | undefined> {
  const guessed = programId === undefined ? undefined : programContent(cardId, programId);
  // A guess that turns out unused must not surface as an unhandled rejection.
  guessed?.catch(() => undefined);
  // Sent in the same turn: it joins the program's read (one BatchGetItem) when that is not cached.
  const card = await findCard(cardId);
  if (!card) return undefined;
  const [message, program] =
    guessed && card.programId === programId ? await guessed : await programContent(card.id, card.programId);
  return { card, message, program };
}

async function signPass(content: PassContent, pass: ApplePass, now: Date): Promise<SignedApplePass> {
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

/** What a pass download reads before it may answer; `readPassDownload` starts them. */
export interface PassDownloadReads {
  readonly pass: Promise<ApplePass | undefined>;
  /** The card, its program and latest message, read as soon as the pass item was read (after it). */
  readonly content: Promise<PassContent | undefined>;
}

/**
 * Starts a download's reads: the pass item, then at once the card with its program's messages (the
 * program the item names), and the signing material (Secrets Manager in AWS, cached). The API starts them
 * as the request arrives, alongside authentication (`early`): a cold download then waits for two round
 * trips, not four. Nothing is shown from them before the caller is authenticated and the card visible.
 * Failures wait for the download to meet them.
 */
export function readPassDownload(cardId: string): PassDownloadReads {
  appleCertificates().catch(() => undefined);
  sealingPepper().catch(() => undefined);
  // The caller's API key and merchant reads join it: one BatchGetItem.
  const pass = findApplePass(cardId, { batched: true });
  const content = pass.then((stored) => passContent(cardId, stored?.programId));
  pass.catch(() => undefined);
  content.catch(() => undefined);
  return { pass, content };
}

/**
 * The card's pass for a download through the API. Primary course: read the pass item (usually started
 * while the caller was authenticated), then the card with its program and latest message (`visible`
 * answers 404 for a card the caller may not see); at the first download record the pass and read them
 * again after that; then sign. The pass item is always read before the card that is served: a change
 * committed after that read gets a later version from wallet-sync, and the device fetches it.
 */
export async function downloadApplePass(
  cardId: string,
  visible: CardVisibility,
  now: Date,
  reads: PassDownloadReads = readPassDownload(cardId),
): Promise<SignedApplePass & { readonly cardId: string }> {
  const [certificates, secret, stored] = await Promise.all([
    appleCertificates(),
    sealingPepper(),
    reads.pass,
  ]);
  let content = await reads.content;
  if (!content || !visible(content.card)) throw notFound('The card');
  const { card } = content;
  const wanted = {
    cardId: card.id,
    tokenHash: passTokenHash(applePassToken(secret, card.id)),
    passTypeIdentifier: certificates.passTypeIdentifier,
    programId: card.programId,
    createdAt: now.toISOString(),
  };
  let pass = stored;
  if (
    !pass ||
    pass.tokenHash !== wanted.tokenHash ||
    pass.passTypeIdentifier !== wanted.passTypeIdentifier ||
    pass.programId !== wanted.programId
  ) {
    pass = await rememberApplePass(wanted, { stored });
    content = (await passContent(card.id, card.programId)) ?? content;
  }
  return { cardId: card.id, ...(await signPass(content, pass, now)) };
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
  if (withBody) {
    // The signing material (Secrets Manager in AWS, cached) is read alongside the card.
    appleCertificates().catch(() => undefined);
    sealingPepper().catch(() => undefined);
  }
  const content = await passContent(cardId, pass.programId);
  if (!content) return undefined;
  if (!withBody) return { kind: 'pass', lastModified };
  return { kind: 'pass', ...(await signPass(content, pass, now)) };
}

/** The pass type this deployment signs (the path's `{passTypeIdentifier}` must name it). */
export async function applePassTypeIdentifier(): Promise<string> {
  return (await appleCertificates()).passTypeIdentifier;
}
