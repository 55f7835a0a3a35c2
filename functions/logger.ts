import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger (service name and level from POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL / LOG_LEVEL,
 * which CDK and the local runtime set). Nothing logs request bodies or headers: codes, PINs, API keys
 * and tokens travel only there. Errors are logged once, by the error handler, with the request id.
 */
export const logger = new Logger();
