import * as z from 'zod';
import { lookupCard } from '../app/card-lookup';
import { transferValue } from '../app/card-transfer';
import type { Card, OperationContext } from '../core/card';
import { displayStatus } from '../core/card';
import { DomainError, notFound } from '../core/errors';
import type { LedgerEntry } from '../core/ledger';
import { portalWalletCard, portalWalletToken } from '../core/portal-wallet-token';
import { answerOf, apiHandler, type Operations, operation } from '../http/api-handler';
import {
  googleSaveLinkSchema,
  portalBalanceSchema,
  portalTransferSchema,
} from '../http/response-schemas/wallet';
import { amount } from '../http/validation';
import { cardHistory, findCard } from '../store/card-reads';
import { findPin } from '../store/pins';
import { getProgram } from '../store/programs';
import { sealingPepper } from '../store/secrets';
import { downloadApplePass } from '../wallet/apple-passes';
import { pkpassResponse } from '../wallet/apple-web-service';
import { googleSaveUrlFor } from '../wallet/google-passes';

/**
 * The card-holder portal's routes: public (no account), by code plus PIN, rate limited per caller IP and
 * per card like merchant lookups (route table). Every miss answers the same 404 NOT_FOUND after the same
 * work: an unknown code, a wrong or missing PIN, a locked PIN, a card of another region or program. They
 * call the merchants' lookup (store/cards.ts lookupCard, which spends PIN attempts and runs a decoy check
 * for unknown codes) with merchant-style answers (`revealPinErrors: false`).
 */
const PORTAL_HISTORY_ENTRIES = 20;
/** The portal is an online channel: ONLINE_ONLY programs ask their PIN here too. */
const PIN_CHANNEL = 'ONLINE' as const;
const everyCard = () => true;

const pin = z.string().regex(/^\d{4,12}$/, '4 to 12 digits');
const code = z.string().min(1).max(64);

const miss = () => notFound('The card');

/** The card named by code (and PIN); every miss is lookupCard's NOT_FOUND for `The card`. */
async function holderCard(rawCode: string, givenPin: string | undefined): Promise<Card> {
  return lookupCard(rawCode, everyCard, {
    ...(givenPin === undefined ? {} : { pin: givenPin }),
    channel: PIN_CHANNEL,
    revealPinErrors: false,
  });
}

/**
 * A blocked or deactivated card is refused to its holder (who proved they hold it: code, and PIN where it
 * has one): the portal shows no balance, history or wallet link for it and points to customer care.
 */
function usableCard(card: Card, now: Date): Card {
  const status = displayStatus(card, now);
  if (status === 'BLOCKED')
    throw new DomainError('CARD_BLOCKED', 'This card is blocked. Contact customer care.');
  if (status === 'DEACTIVATED')
    throw new DomainError('CARD_NOT_ACTIVE', 'This card is no longer in use. Contact customer care.');
  return card;
}

/** What a holder sees of their card: no ids of merchants, actors or staff reasons. */
const holderCardView = (card: Card, programName: string, now: Date) => ({
  last4: card.last4,
  status: displayStatus(card, now),
  currency: card.currency,
  balance: card.balance,
  available: card.available,
  expiresAt: card.expiresAt ?? null,
  programName,
});

const holderEntryView = (entry: LedgerEntry) => ({
  type: entry.type,
  amount: entry.amount,
  balanceAfter: entry.balanceAfter,
  channel: entry.channel,
  createdAt: entry.createdAt,
});

async function walletCard(token: string | undefined, now: Date): Promise<Card> {
  const cardId = token ? portalWalletCard(await sealingPepper(), token, now) : undefined;
  const card = cardId ? await findCard(cardId) : undefined;
  if (!card) throw notFound('The wallet link (it lasts 15 minutes: check the balance again)');
  return card;
}

export const operations: Operations = {
  'POST /v1/portal/balance': operation({
    summary: 'Card holder: balance and recent history by code (and PIN where the program has one)',
    response: portalBalanceSchema,
    body: z.object({ code, pin: pin.optional() }).strict(),
    run: async ({ body, now }) => {
      const card = usableCard(await holderCard(body.code, body.pin), now);
      const [program, history, secret] = await Promise.all([
        getProgram(card.programId, { cached: true }),
        cardHistory(card.id, PORTAL_HISTORY_ENTRIES, undefined),
        sealingPepper(),
      ]);
      return {
        card: holderCardView(card, program.name, now),
        transactions: history.items.map(holderEntryView),
        walletToken: portalWalletToken(secret, card.id, now),
      };
    },
  }),
  'POST /v1/portal/transfer': operation({
    summary: 'Card holder: move the balance to another card of the same program (source PIN checked first)',
    response: portalTransferSchema,
    body: z
      .object({ code, pin: pin.optional(), toCode: code, toPin: pin.optional(), amount: amount.optional() })
      .strict(),
    run: async ({ body, now, idempotency, deadlineMs }) => {
      // The source's PIN is checked here, before the transfer: a card with a PIN moves nothing without it.
      const from = usableCard(await holderCard(body.code, body.pin), now);
      if (body.pin === undefined && (await findPin(from.id))) throw miss();
      const to = await holderCard(body.toCode, body.toPin);
      if (to.programId !== from.programId || to.id === from.id) throw miss();
      const context: OperationContext = {
        actor: { type: 'holder', id: from.id },
        request: { channel: 'PORTAL' },
        now,
      };
      const [committed, program] = await Promise.all([
        transferValue(from.id, to.id, body.amount, context, everyCard, { claim: idempotency, deadlineMs }),
        getProgram(from.programId, { cached: true }),
      ]);
      return answerOf(committed, (result) => ({
        card: holderCardView(result.card, program.name, now),
        destination: holderCardView(result.counterpart.card, program.name, now),
        amount: -result.transaction.amount,
      }));
    },
  }),
  'GET /v1/portal/wallet/apple/{walletToken}': operation({
    summary: "Card holder: the card's Apple Wallet pass, by the link token of a balance check",
    contentType: 'application/vnd.apple.pkpass',
    run: async ({ params, now }) => {
      const card = await walletCard(params.walletToken, now);
      // The link token proved the holder's card; the pass is the one the API would give (versioned).
      const pass = await downloadApplePass(card.id, () => true, now);
      return pkpassResponse(pass.pkpass, pass.lastModified, 'giftcard.pkpass');
    },
  }),
  'GET /v1/portal/wallet/google/{walletToken}': operation({
    summary: "Card holder: the card's Save to Google Wallet link, by the link token of a balance check",
    response: googleSaveLinkSchema,
    run: async ({ params, now }) => {
      const card = await walletCard(params.walletToken, now);
      const program = await getProgram(card.programId, { cached: true });
      return { saveUrl: await googleSaveUrlFor(card, program, now) };
    },
  }),
};

export const handler = apiHandler('portal', operations);
