import * as z from 'zod';
import type { OperationContext } from '../core/card';
import type { OperationRequest } from './api-handler';
import { actorOf } from './auth';
import { requestContextFields } from './validation';

const contextBody = z.object(requestContextFields);

/**
 * Everything a card-changing request has in common: who acts, where (channel, store, till), the
 * caller's reference and the currency it expects. Read from the already validated body.
 */
export function operationContext(request: OperationRequest<unknown, unknown>): OperationContext {
  const { channel, locationId, terminalId, reference, currency } = contextBody.parse(request.body ?? {});
  return {
    actor: actorOf(request.principal),
    ...(request.principal.type === 'staff' ? { roles: request.principal.roles } : {}),
    request: {
      ...(channel ? { channel } : {}),
      ...(locationId ? { locationId } : {}),
      ...(terminalId ? { terminalId } : {}),
      ...(reference ? { reference } : {}),
    },
    ...(currency ? { currency } : {}),
    now: request.now,
  };
}
