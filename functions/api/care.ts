import { getCard } from '../app/card-lookup';
import { PIN_MAX_FAILURES } from '../core/pin';
import { apiHandler, type Operations, operation } from '../http/api-handler';
import { cardVisibility } from '../http/auth';
import { pathId } from '../http/params';
import { pinStateSchema, walletRegistrationsSchema } from '../http/response-schemas/cards';
import { applePushTargets, findApplePass } from '../store/apple-passes';
import { findGoogleObjectId } from '../store/google-objects';
import { findPin } from '../store/pins';

/**
 * What customer care sees of a card besides its ledger (the console's card page): the PIN's state
 * (never the PIN or its hash) and the card's wallet passes. Read-only; staff only.
 */
const cardIdOf = (params: Readonly<Record<string, string>>) => pathId(params, 'cardId', 'gc', 'The card');

export const operations: Operations = {
  'GET /v1/cards/{cardId}/pin': operation({
    summary: "The card's PIN state: set or not, wrong attempts since the last right one, locked",
    response: pinStateSchema,
    run: async ({ params, principal }) => {
      const card = await getCard(cardIdOf(params), cardVisibility(principal));
      const pin = await findPin(card.id);
      return {
        set: pin !== undefined,
        failures: pin?.failures ?? 0,
        maxFailures: PIN_MAX_FAILURES,
        locked: pin !== undefined && pin.failures >= PIN_MAX_FAILURES,
        updatedAt: pin?.updatedAt ?? null,
      };
    },
  }),
  'GET /v1/cards/{cardId}/wallet/registrations': operation({
    summary: "The card's wallet passes: Apple pass downloaded and devices registered, Google object saved",
    response: walletRegistrationsSchema,
    run: async ({ params, principal }) => {
      const card = await getCard(cardIdOf(params), cardVisibility(principal));
      const [applePass, devices, googleObjectId] = await Promise.all([
        findApplePass(card.id),
        applePushTargets(card.id),
        findGoogleObjectId(card.id),
      ]);
      return {
        apple: { passIssued: applePass !== undefined, devices: devices.length },
        google: { objectSaved: googleObjectId !== undefined },
      };
    },
  }),
};

export const handler = apiHandler('care', operations);
