import { apiHandler, type Operations, operation } from '../http/api-handler';
import { cardVisibility } from '../http/auth';
import { pathId } from '../http/params';
import { getCard } from '../store/cards';
import { googleSaveUrlFor } from '../store/google-wallet';
import { getProgram } from '../store/programs';

export const operations: Operations = {
  'GET /v1/cards/{cardId}/wallet/google': operation({
    summary: 'A Save to Google Wallet link for the card (a signed JWT; the pass shows the last 4 only)',
    run: async ({ params, principal, now }) => {
      const card = await getCard(pathId(params, 'cardId', 'gc', 'The card'), cardVisibility(principal));
      const program = await getProgram(card.programId, { cached: true });
      return { saveUrl: await googleSaveUrlFor(card, program, now) };
    },
  }),
};

export const handler = apiHandler('google-wallet', operations);
