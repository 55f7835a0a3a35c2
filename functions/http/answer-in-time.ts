import type { APIGatewayProxyResult } from 'aws-lambda';
import { TimedOutError } from '../core/errors';
import { logger } from '../logger';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { abandonKey, type IdempotencyClaim } from '../store/idempotency';
import { problemResponse } from './problem';

/**
 * How long before the function's timeout a request still running is answered 503 TIMED_OUT: time for
 * the fence on its Idempotency-Key (one conditional write) and the answer.
 */
export const TIMEOUT_ANSWER_MARGIN_MS = 1_000;
/** No write is sent this close to the answer: one sent earlier has landed or failed by then. */
export const WRITE_IN_FLIGHT_MS = 1_000;

/** When a request's answer is due, and its Idempotency-Key once known (for the fence). */
export interface RequestTiming {
  readonly answerAtMs?: number;
  readonly remainingMs?: number;
  claim?: IdempotencyClaim | undefined;
}

/**
 * The answer, or 503 TIMED_OUT problem+json with Retry-After just before the function would time out
 * (Lambda would kill it and API Gateway answer a bare 502, with nothing logged by us). Nothing commits
 * after that answer: the operation sends no write past its deadline (`deadlineMs`), and a request with
 * an Idempotency-Key fences the key before answering, so a write still on its way fails its condition;
 * the retry with the same key then takes effect once (or gets the result, had it committed first).
 */
export async function answerInTime(
  timing: RequestTiming,
  requestId: string,
  work: Promise<APIGatewayProxyResult>,
): Promise<APIGatewayProxyResult> {
  const { answerAtMs, remainingMs } = timing;
  if (answerAtMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<APIGatewayProxyResult>((resolve) => {
    timer = setTimeout(
      async () => {
        // The line names the metric it counted, for Logs Insights next to the alarm.
        logger.error('Request ran out of time', {
          requestId,
          metric: METRIC.apiRequestTimedOut,
          budgetMs: remainingMs,
        });
        countMetric(METRIC.apiRequestTimedOut);
        if (timing.claim) {
          await abandonKey(timing.claim, new Date()).catch((error: unknown) =>
            logger.error('Could not fence the Idempotency-Key of a timed-out request', {
              requestId,
              error: error as Error,
            }),
          );
        }
        resolve(problemResponse(new TimedOutError(), requestId));
      },
      Math.max(0, answerAtMs - Date.now()),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
