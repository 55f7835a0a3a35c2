import type { Context } from 'aws-lambda';
import { logger } from '../logger';
import { flushMetrics } from './metrics';

const isContext = (value: unknown): value is Context =>
  typeof value === 'object' && value !== null && typeof Reflect.get(value, 'awsRequestId') === 'string';

/**
 * Wraps a stream consumer's, job's or export step's handler (same signature): every log line of the
 * invocation carries the Lambda request id (Powertools `function_request_id`, with the function name and
 * cold start), and the metrics the invocation added are written when it ends, whether it succeeded or threw.
 */
export function observed<A extends unknown[], R>(
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const context = args[1];
    if (isContext(context)) logger.addContext(context);
    try {
      return await handler(...args);
    } finally {
      flushMetrics();
    }
  };
}
