import { SCHEDULED_JOBS, type ScheduledJobDefinition } from '../functions/scheduled/registry';
import { recordedRun } from '../functions/store/job-runs';
import type { LocalLog } from './log';

/** What a scheduled module exports besides its Lambda handler: the job itself, for timers and the CLI. */
export interface ScheduledModule {
  run(now?: Date): Promise<{ examined: number; changed: number; failed: number }>;
}

export const importScheduledJob = (module: string): Promise<ScheduledModule> =>
  import(`../functions/scheduled/${module}.ts`) as Promise<ScheduledModule>;

export interface LocalScheduler {
  /**
   * Runs one job now (waits for a run already under way first); `at` runs it as if the clock said so
   * (tests of what is due when).
   */
  runNow(name: string, at?: Date): Promise<Awaited<ReturnType<ScheduledModule['run']>>>;
  stop(): Promise<void>;
}

/**
 * EventBridge Scheduler's stand-in under `npm start`: every job of the registry on a timer, never two
 * runs of one job at once. A failing run is logged and retried at the next tick, as the schedule would.
 */
export function startScheduler(options: {
  log: LocalLog;
  jobs?: readonly ScheduledJobDefinition[];
  load?: (module: string) => Promise<ScheduledModule>;
  /** Run the jobs on their timers too (default true); without, only `runNow` runs them. */
  timers?: boolean;
}): LocalScheduler {
  const jobs = options.jobs ?? SCHEDULED_JOBS;
  const load = options.load ?? importScheduledJob;
  const running = new Map<string, Promise<unknown>>();
  let stopped = false;

  const runJob = async (job: ScheduledJobDefinition, at?: Date) => {
    const previous = running.get(job.name);
    if (previous) await previous.catch(() => undefined);
    // Recorded like the Lambda handlers record their runs (functions/store/job-runs.ts: the Ops page).
    const run = load(job.module).then((module) => recordedRun(job.name, () => module.run(at)));
    running.set(job.name, run);
    try {
      const report = await run;
      if (report.changed > 0 || report.failed > 0) options.log.info(`${job.name}: ${JSON.stringify(report)}`);
      return report;
    } finally {
      running.delete(job.name);
    }
  };

  const timed = options.timers === false ? [] : jobs;
  const timers = timed.map((job) =>
    setInterval(() => {
      if (stopped || running.has(job.name)) return;
      runJob(job).catch((error: unknown) =>
        options.log.warn(`${job.name} failed: ${(error as Error).message}`),
      );
    }, job.localEveryMs),
  );
  for (const timer of timers) timer.unref();

  return {
    runNow: (name, at) => {
      const job = jobs.find((candidate) => candidate.name === name);
      if (!job)
        throw new Error(`No scheduled job named ${name}; known: ${jobs.map((j) => j.name).join(', ')}`);
      return runJob(job, at);
    },
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running.values()]);
    },
  };
}
