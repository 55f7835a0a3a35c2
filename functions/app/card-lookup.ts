import type { Card } from '../core/card';
import { isPlausibleCode, normalizeCode } from '../core/card-code';
import { ownsEntry, programWantsPin } from '../core/card-policy';
import { DomainError, notFound } from '../core/errors';
import type { Actor, Channel, LedgerEntry } from '../core/ledger';
import { findCard, findCardByCode, readEntryAndCard } from '../store/card-reads';
import { checkPin, decoyCheckPin, pinRefusal } from '../store/pins';
import { getProgram } from '../store/programs';
import type { CardVisibility } from './card-change';

/** `read`: the same read when it was started ahead (the API's `early`). */
export async function getCard(
  cardId: string,
  visible: CardVisibility,
  read: Promise<Card | undefined> = findCard(cardId),
): Promise<Card> {
  const card = await read;
  if (!card || !visible(card)) throw notFound('The card');
  return card;
}

/**
 * Balance inquiry by code. Any code that is not a visible card, well-formed or not, is NOT_FOUND. When the
 * program requires a PIN, a merchant gets NOT_FOUND for a wrong or locked PIN too, after the same work
 * (a decoy check when there is no PIN to check), so a lookup cannot tell which of them it hit.
 */
export async function lookupCard(
  rawCode: string,
  visible: CardVisibility,
  options: { readonly pin?: string; readonly channel?: Channel; readonly revealPinErrors?: boolean } = {},
): Promise<Card> {
  const code = normalizeCode(rawCode);
  const card = isPlausibleCode(code) ? await findCardByCode(code) : undefined;
  if (!card || !visible(card)) {
    // The same conditional write and scrypt a PIN check of a real card costs (to a key that holds nothing).
    if (options.pin !== undefined) await decoyCheckPin(options.pin);
    throw notFound('The card');
  }
  const program = await getProgram(card.programId, { cached: true });
  if (!programWantsPin(program, options.channel) && options.pin === undefined) return card;
  if (options.pin === undefined) {
    if (options.revealPinErrors)
      throw new DomainError('PIN_REQUIRED', 'This card needs its PIN for a balance inquiry.');
    throw notFound('The card');
  }
  const result = await checkPin(card.id, options.pin);
  if (result === 'OK') return card;
  if (options.revealPinErrors) throw pinRefusal(result);
  throw notFound('The card');
}

/**
 * One ledger entry. A merchant sees an entry of a card it may see when the entry is its own or made by
 * staff or the system; another merchant's entry on a shared program is NOT_FOUND (its reference, store
 * and till are that merchant's business). `read`: the same reads when started ahead.
 */
export async function getTransaction(
  transactionId: string,
  visible: CardVisibility,
  viewer: Actor | undefined,
  read: Promise<{ card?: Card; entry?: LedgerEntry } | undefined> = readEntryAndCard(transactionId),
): Promise<LedgerEntry> {
  const found = await read;
  if (!found?.card || !visible(found.card) || !found.entry) throw notFound('The transaction');
  if (viewer && !mayReadEntry(viewer, found.entry)) throw notFound('The transaction');
  return found.entry;
}

/** Own entries, and entries no merchant made; never another merchant's. */
export const mayReadEntry = (viewer: Actor, entry: LedgerEntry): boolean =>
  ownsEntry(viewer, entry) || entry.merchantId === undefined;
