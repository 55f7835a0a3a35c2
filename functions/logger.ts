import { Logger } from '@aws-lambda-powertools/logger';
import { redactForLog } from './log-redaction';

/**
 * The one logger (service name and level from POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL / LOG_LEVEL,
 * which CDK and the local runtime set). Nothing logs request bodies or headers: codes, PINs, API keys
 * and tokens travel only there. Errors are logged once, by the error handler, with the request id.
 * Every line goes through a redacting replacer (functions/log-redaction.ts) for what slips through
 * anyway: secret-named fields, API keys, bearer tokens, JWTs, webhook secrets, card-code-shaped digits.
 */
export const logger = new Logger({ jsonReplacerFn: redactForLog });
