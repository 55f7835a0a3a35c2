import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadAnswer, LoadJob } from './load-worker';

/** Runs one load job in a separate process (bench/lib/load-worker.ts) and returns its results. */
export function runLoad(job: LoadJob): Promise<LoadAnswer> {
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, 'load-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: LoadAnswer | undefined;
    child.on('message', (message: LoadAnswer) => {
      answer = message;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      answer ? resolve(answer) : reject(new Error(`load worker exited with ${code}`)),
    );
    child.send(job);
  });
}
