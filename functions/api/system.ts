import { apiHandler, operation } from '../http/api-handler';

export const handler = apiHandler('system', {
  'GET /health': operation({ run: async () => ({ status: 'ok' }) }),
});
