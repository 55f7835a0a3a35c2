import { config } from '../config';
import type { Card } from '../core/card';
import { DomainError } from '../core/errors';
import {
  type GoogleIssuer,
  googleBalanceFields,
  googleGiftCardClass,
  googleGiftCardObject,
  walletBarcodeValue,
} from '../core/google-wallet';
import { logger } from '../logger';
import { findCard } from '../store/card-reads';
import {
  claimMessageType,
  downgradeMessageType,
  markMessageSent,
  rememberGoogleObject,
} from '../store/google-objects';
import {
  addGoogleMessage,
  type GoogleMessage,
  googleMessageIds,
  insertGoogleResource,
  patchGiftCardObject,
  signSaveUrl,
} from '../store/google-wallet';
import { type GoogleServiceAccount, googleServiceAccount } from '../store/push-credentials';

/**
 * Google Wallet passes: the save link, the object that follows the card, and messages. The object is
 * inserted through the API when the link is made and the link names it by id, so whenever the holder
 * saves, Google shows the object as the API last left it, never a balance frozen in a link.
 */
const issuerOf = (account: GoogleServiceAccount): GoogleIssuer => ({
  issuerId: account.issuerId,
  issuerName: config().GOOGLE_WALLET_ISSUER_NAME,
});

/**
 * Primary course: record that the card's object (and the program's class) exist, so wallet-sync keeps
 * them current from now on; insert the class; read the card again (consistently, after that record, so a
 * later change is PATCHed by wallet-sync); insert the object; sign a link naming it.
 */
export async function googleSaveUrlFor(
  card: Card,
  program: { readonly id: string; readonly name: string },
  now: Date,
): Promise<string> {
  const account = await googleServiceAccount();
  if (!account) {
    throw new DomainError('NOT_FOUND', 'Google Wallet passes are not offered by this deployment.');
  }
  const issuer = issuerOf(account);
  const giftCardClass = googleGiftCardClass(issuer, program);
  const objectId = googleGiftCardObject(issuer, card, walletBarcodeValue(card), now).id;
  await rememberGoogleObject(card.id, program.id, objectId, giftCardClass.id, now);
  await insertGoogleResource('giftCardClass', giftCardClass);
  const current = (await findCard(card.id)) ?? card;
  // Already there (an earlier link, or wallet-sync inserted it): wallet-sync keeps it current.
  await insertGoogleResource(
    'giftCardObject',
    googleGiftCardObject(issuer, current, walletBarcodeValue(current), now),
  );
  return signSaveUrl({ giftCardObjects: [{ id: objectId, classId: giftCardClass.id }] }, now);
}

/**
 * Brings the card's object to the card's state: a PATCH; an object Google does not have (a link made a
 * moment ago whose insert has not landed, or an object Google dropped) is inserted with the state.
 */
export async function keepGoogleObjectCurrent(
  card: Card,
  objectId: string,
  now: Date,
): Promise<'updated' | 'inserted'> {
  if ((await patchGiftCardObject(objectId, googleBalanceFields(card, now))) === 'updated') return 'updated';
  const account = await googleServiceAccount();
  if (!account) return 'updated';
  const object = {
    ...googleGiftCardObject(issuerOf(account), card, walletBarcodeValue(card), now),
    id: objectId,
  };
  if ((await insertGoogleResource('giftCardObject', object)) === 'inserted') return 'inserted';
  // Inserted by the link in between, from an older read: PATCH it to this state.
  await patchGiftCardObject(objectId, googleBalanceFields(card, now));
  return 'updated';
}

/**
 * Delivers one wallet message to an object or class, once. Primary course: decide now whether it
 * notifies (at most three a day per pass, counting `alsoNotified`), add it, record it added. Google
 * refusing the notification (its quota) sends it as TEXT. A message decided by an earlier delivery but
 * not recorded as added (a crash between the two) is looked for at Google first, so nobody is notified
 * twice. Answers what went out, or undefined when nothing was sent (already there, or no such resource).
 */
export async function deliverGoogleMessage(
  on: 'giftCardObject' | 'giftCardClass',
  resourceId: string,
  message: Omit<GoogleMessage, 'messageType'>,
  alsoNotified: number,
  now: Date,
): Promise<GoogleMessage['messageType'] | undefined> {
  const claim = await claimMessageType(resourceId, message.id, now, alsoNotified);
  if (claim.alreadySent) return undefined;
  if (claim.decidedBefore) {
    const present = await googleMessageIds(on, resourceId);
    if (present?.includes(message.id)) {
      await markMessageSent(resourceId, message.id, now);
      return undefined;
    }
  }
  let type = claim.type;
  let outcome = await addGoogleMessage(on, resourceId, { ...message, messageType: type });
  if (outcome === 'quota' && type === 'TEXT_AND_NOTIFY') {
    await downgradeMessageType(resourceId, message.id, now);
    type = 'TEXT';
    outcome = await addGoogleMessage(on, resourceId, { ...message, messageType: type });
  }
  if (outcome === 'quota') throw new Error(`Google refused a TEXT message to ${resourceId} for quota`);
  if (outcome === 'missing') return undefined;
  if (type === 'TEXT') {
    logger.info('Google Wallet message sent without a notification: 3 notifying messages in 24 h', {
      messageId: message.id,
      resourceId,
    });
  }
  await markMessageSent(resourceId, message.id, now);
  return type;
}
