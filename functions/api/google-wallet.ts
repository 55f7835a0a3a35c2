import { getCard } from '../app/card-lookup';
import type { Card } from '../core/card';
import { apiHandler, type Operations, operation, readAhead } from '../http/api-handler';
import { cardVisibility } from '../http/auth';
import { isId, pathId } from '../http/params';
import { googleSaveLinkSchema } from '../http/response-schemas/wallet';
import { findCard } from '../store/card-reads';
import { getProgram, warmProgramCache } from '../store/programs';
import { googleSaveUrlFor } from '../wallet/google-passes';

export const operations: Operations = {
  'GET /v1/cards/{cardId}/wallet/google': operation({
    summary: 'A Save to Google Wallet link for the card (a signed JWT; the pass shows the last 4 only)',
    response: googleSaveLinkSchema,
    // The card and the merchant's programs are read while the caller is authenticated.
    early: (params, hint) => {
      warmProgramCache(hint.programIds);
      return isId(params.cardId, 'gc') ? readAhead(() => findCard(params.cardId as string)) : undefined;
    },
    run: async ({ params, principal, now, early }) => {
      const id = pathId(params, 'cardId', 'gc', 'The card');
      const card = await getCard(
        id,
        cardVisibility(principal),
        early as Promise<Card | undefined> | undefined,
      );
      const program = await getProgram(card.programId, { cached: true });
      return { saveUrl: await googleSaveUrlFor(card, program, now) };
    },
  }),
};

export const handler = apiHandler('google-wallet', operations);
