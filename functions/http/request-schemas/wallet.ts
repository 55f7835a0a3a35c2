import * as z from 'zod';
import { WALLET_MESSAGE_LIMITS } from '../../core/wallet-message';
import { safeText } from '../validation';

/**
 * What the wallet function's routes accept. A module of its own, imported on first use (api-handler.ts
 * SchemaSource): the function's cold requests (a pass download, a device fetching its pass) validate
 * nothing, so zod stays unevaluated until a message, a registration or a log arrives.
 */
export const messageBody = z
  .object({ header: safeText(WALLET_MESSAGE_LIMITS.header), body: safeText(WALLET_MESSAGE_LIMITS.body) })
  .strict();
export type MessageBody = z.infer<typeof messageBody>;

/** Apple's PassKit web service (functions/wallet/apple-web-service.ts). */
export const registerBody = z.object({
  pushToken: z.string().regex(/^[0-9A-Fa-f]{16,256}$/, 'hex, 16-256 characters'),
});
export const logBody = z.object({ logs: z.array(z.string().max(4000)).max(100) });
export const updatesQuery = z
  .object({
    passesUpdatedSince: z
      .string()
      .regex(/^\d{1,16}$/, 'a tag this service returned')
      .optional(),
  })
  .strict();
