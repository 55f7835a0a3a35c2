import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';

/**
 * A record of each scheduled job run (expiry sweep, hold expiry, webhook retries, usage keys, finance
 * exports), for the console's Ops page. One partition holds them all, newest first by sort key: the jobs
 * run a few times a minute at most, far below a partition's write limit. Kept 30 days (TTL).
 *
 *   JOBRUNS / <finishedAt>#<job>   { job, startedAt, finishedAt, status, examined, changed, failed, error }
 */
export interface JobRun {
  readonly job: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly examined?: number;
  readonly changed?: number;
  readonly failed?: number;
  readonly error?: string;
}

const PK = 'JOBRUNS';
const KEEP_SECONDS = 30 * 24 * 3600;
export const MAX_JOB_RUNS_PAGE = 200;

export async function recordJobRun(run: JobRun): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        PK,
        SK: `${run.finishedAt}#${run.job}`,
        ...run,
        ...(run.error ? { error: run.error.slice(0, 500) } : {}),
        ttl: Math.floor(Date.parse(run.finishedAt) / 1000) + KEEP_SECONDS,
      },
    }),
  );
}

export async function recentJobRuns(limit: number): Promise<JobRun[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': PK },
      ScanIndexForward: false,
      Limit: Math.min(limit, MAX_JOB_RUNS_PAGE),
    }),
  );
  return (out.Items ?? []).map((item) => ({
    job: String(item.job),
    startedAt: String(item.startedAt),
    finishedAt: String(item.finishedAt),
    status: item.status === 'FAILED' ? 'FAILED' : 'SUCCEEDED',
    ...(typeof item.examined === 'number' ? { examined: item.examined } : {}),
    ...(typeof item.changed === 'number' ? { changed: item.changed } : {}),
    ...(typeof item.failed === 'number' ? { failed: item.failed } : {}),
    ...(typeof item.error === 'string' ? { error: item.error } : {}),
  }));
}

interface RunReport {
  readonly examined?: number;
  readonly changed?: number;
  readonly failed?: number;
}

/**
 * Runs a job and records how it went; a failure to record is swallowed (the run matters more than its
 * record), and the job's own failure is recorded and rethrown.
 */
export async function recordedRun<R extends RunReport>(
  job: string,
  run: () => Promise<R>,
  record: (run: JobRun) => Promise<void> = recordJobRun,
): Promise<R> {
  const startedAt = new Date().toISOString();
  const done = (entry: Omit<JobRun, 'job' | 'startedAt' | 'finishedAt'>) =>
    record({ job, startedAt, finishedAt: new Date().toISOString(), ...entry }).catch(() => undefined);
  try {
    const report = await run();
    const counts = {
      ...(typeof report.examined === 'number' ? { examined: report.examined } : {}),
      ...(typeof report.changed === 'number' ? { changed: report.changed } : {}),
      ...(typeof report.failed === 'number' ? { failed: report.failed } : {}),
    };
    await done({ status: (report.failed ?? 0) > 0 ? 'FAILED' : 'SUCCEEDED', ...counts });
    return report;
  } catch (error) {
    await done({ status: 'FAILED', error: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}
