import { getCard } from '../app/card-lookup';
import type { WalletMessage } from '../core/wallet-message';
import { apiHandler, type OperationRequest, type Operations, operation } from '../http/api-handler';
import { actorOf, cardVisibility } from '../http/auth';
import { isId, pathId } from '../http/params';
import type { MessageBody } from '../http/request-schemas/wallet';
import { getProgram } from '../store/programs';
import { recordWalletMessage } from '../store/wallet-messages';
import { downloadApplePass, type PassDownloadReads, readPassDownload } from '../wallet/apple-passes';
import { appleWebServiceOperations, pkpassResponse } from '../wallet/apple-web-service';

/**
 * Wallet passes: the card's Apple Wallet pass, retailers' messages to passes, and Apple's PassKit web
 * service (functions/wallet/apple-web-service.ts). Google Wallet and the pushes that follow a change
 * (APNs, Google) live in the wallet-sync stream consumer.
 */
export const walletMessageView = (message: WalletMessage) => ({
  id: message.id,
  cardId: message.cardId ?? null,
  programId: message.programId ?? null,
  header: message.header,
  body: message.body,
  actor: { type: message.actor.type, id: message.actor.id },
  createdAt: message.createdAt,
});

// Loaded on first use: the pass download, this function's cold request, validates nothing (api-handler.ts
// SchemaSource), so zod is not evaluated at its cold start.
const messageBody = () => import('../http/request-schemas/wallet').then((schemas) => schemas.messageBody);
const walletMessageSchema = () =>
  import('../http/response-schemas/wallet').then((schemas) => schemas.walletMessageSchema);

const cardIdOf = (params: Readonly<Record<string, string>>) => pathId(params, 'cardId', 'gc', 'The card');

export const operations: Operations = {
  'GET /v1/cards/{cardId}/wallet/apple': operation({
    summary: 'The card as a signed Apple Wallet pass (.pkpass) with its live balance',
    contentType: 'application/vnd.apple.pkpass',
    // The pass item, then the card and its messages, are read while the caller is authenticated.
    early: (params) => (isId(params.cardId, 'gc') ? readPassDownload(params.cardId as string) : undefined),
    run: async ({ principal, params, now, early }) => {
      const pass = await downloadApplePass(
        cardIdOf(params),
        cardVisibility(principal),
        now,
        early as PassDownloadReads | undefined,
      );
      return pkpassResponse(pass.pkpass, pass.lastModified, `${pass.cardId}.pkpass`);
    },
  }),
  'POST /v1/cards/{cardId}/wallet/messages': operation({
    summary: "Send a message to the card's wallet passes (the device shows and notifies it)",
    response: walletMessageSchema,
    body: messageBody,
    status: 202,
    run: async ({ principal, params, body, idempotency, now }: OperationRequest<MessageBody, unknown>) => {
      const card = await getCard(cardIdOf(params), cardVisibility(principal));
      return walletMessageView(
        await recordWalletMessage({ cardId: card.id }, body, actorOf(principal), { now, idempotency }),
      );
    },
  }),
  'POST /v1/programs/{programId}/wallet/messages': operation({
    summary: "Send a message to every wallet pass of the program's cards",
    response: walletMessageSchema,
    body: messageBody,
    status: 202,
    run: async ({ principal, params, body, idempotency, now }: OperationRequest<MessageBody, unknown>) => {
      const program = await getProgram(pathId(params, 'programId', 'prg', 'The program'));
      return walletMessageView(
        await recordWalletMessage({ programId: program.id }, body, actorOf(principal), { now, idempotency }),
      );
    },
  }),
  ...appleWebServiceOperations,
};

export const handler = apiHandler('wallet', operations);
