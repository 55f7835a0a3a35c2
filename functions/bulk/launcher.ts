import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { config } from '../config';
import { logger } from '../logger';
import { traced } from '../observability/tracer';

let client: LambdaClient | undefined;

/** Like Lambda's asynchronous invocations: a failed run is tried twice more (in AWS, 1 and 2 minutes later). */
const LOCAL_ATTEMPTS = 3;
const LOCAL_RETRY_DELAY_MS = 200;

/**
 * Starts (or continues) a batch's background run: the bulk runner function, invoked asynchronously, in
 * AWS; without one (npm start, tests) the same runner in this process, retried as Lambda retries an
 * asynchronous invocation. A second run of a batch is harmless (rows are idempotent by reference).
 */
export async function launchBulkRun(batchId: string): Promise<void> {
  const functionName = config().BULK_RUNNER_FUNCTION_NAME;
  if (functionName) {
    client ??= traced(new LambdaClient({ region: config().AWS_REGION }));
    await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ batchId })),
      }),
    );
    return;
  }
  void runLocally(batchId);
}

async function runLocally(batchId: string): Promise<void> {
  const { runBulkBatch } = await import('../app/bulk-run');
  for (let attempt = 1; attempt <= LOCAL_ATTEMPTS; attempt++) {
    try {
      await runBulkBatch(batchId);
      return;
    } catch (error) {
      logger.error('Bulk batch run failed', { batchId, attempt, error: error as Error });
      await new Promise((resolve) => setTimeout(resolve, LOCAL_RETRY_DELAY_MS));
    }
  }
}
