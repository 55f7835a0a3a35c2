import { Logger } from '@aws-lambda-powertools/logger';
import { redactForLog } from './log-redaction';
import { withOriginalPositions } from './observability/stack-positions';

/**
 * The one logger (service name and level from POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL / LOG_LEVEL,
 * which CDK and the local runtime set). Nothing logs request bodies or headers: codes, PINs, API keys
 * and tokens travel only there. Errors are logged once, by the error handler, with the request id.
 * Every line goes through a redacting replacer (functions/log-redaction.ts) for what slips through
 * anyway: secret-named fields, API keys, bearer tokens, JWTs, webhook secrets, card-code-shaped digits.
 * A logged error's stack is first put in source positions (functions/observability/stack-positions.ts).
 */
export const logger = new Logger({
  jsonReplacerFn: (key, value) => redactForLog(key, withOriginalPositions(value)),
});
