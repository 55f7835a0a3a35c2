import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { config } from '../config';
import { logger } from '../logger';
import { traced } from '../observability/tracer';
import type { ExportRun } from '../store/export-runs';

let client: SFNClient | undefined;

/**
 * Starts a run: the export state machine in AWS (one execution per run and attempt, so a retried
 * request starts nothing twice); without one (npm start, tests) the in-process runner, left running
 * after the answer as the local server's process lives on.
 */
export async function launchExport(run: ExportRun): Promise<void> {
  const stateMachineArn = config().EXPORT_STATE_MACHINE_ARN;
  if (stateMachineArn) {
    client ??= traced(new SFNClient({ region: config().AWS_REGION }));
    try {
      await client.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: `${run.id}-${run.attempt}`,
          input: JSON.stringify({ exportId: run.id }),
        }),
      );
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
    return;
  }
  const { runExport } = await import('./runner');
  runExport(run.id).catch((error: unknown) =>
    logger.error('Export failed', { exportId: run.id, error: error as Error }),
  );
}
