import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { config } from '../config';
import { logger } from '../logger';
import { traced } from '../observability/tracer';

let client: LambdaClient | undefined;

/**
 * Starts (or continues) an order's generation: in AWS an asynchronous invocation of the production
 * worker (functions/production/worker.ts), which hands the order on to a fresh invocation before its
 * 15 minutes run out; without one (npm start, tests) the in-process runner, left running after the
 * answer as the local server's process lives on. A second start while one runs does nothing (BUSY).
 */
export async function launchProductionOrder(
  orderId: string,
  functionName: string | undefined = config().PRODUCTION_WORKER_FUNCTION_NAME,
): Promise<void> {
  if (functionName) {
    client ??= traced(new LambdaClient({ region: config().AWS_REGION }));
    await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ orderId })),
      }),
    );
    return;
  }
  const { runProductionOrder } = await import('../app/production-run');
  runProductionOrder(orderId).catch((error: unknown) =>
    logger.error('Production order failed', { orderId, error: error as Error }),
  );
}
