/**
 * The frame both backfill scripts share (local/backfill-expiry-index.ts, local/backfill-last4-index.ts):
 * `[--restart] [--aws] [--dynamo-port 8000] [--data-dir .local]`, the local stack's environment unless
 * `--aws`, the job's totals as one JSON line, and exit code 1 with the reason when it fails.
 */
import { parseArgs } from 'node:util';
import { useLocalStackEnvironment } from './cli-environment';

export async function runBackfill(
  job: string,
  run: (restart: boolean) => Promise<Record<string, unknown>>,
): Promise<void> {
  const { values } = parseArgs({
    options: {
      restart: { type: 'boolean', default: false },
      aws: { type: 'boolean', default: false },
      'dynamo-port': { type: 'string', default: '8000' },
      'data-dir': { type: 'string', default: '.local' },
    },
  });
  if (!values.aws) {
    await useLocalStackEnvironment({
      dataDir: values['data-dir'],
      dynamoPort: values['dynamo-port'],
      issuerName: 'local-backfill',
    });
  }
  try {
    console.log(JSON.stringify({ job, ...(await run(values.restart ?? false)) }));
  } catch (error) {
    console.error(`${job} failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
