import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger. Nothing logs request bodies or headers: codes, PINs, API keys and tokens travel only
 * there. Errors are logged once, by the error handler, with the request id.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'giftcard' });
