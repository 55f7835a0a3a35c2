/**
 * Single flight per card within one process: changes to the same card from concurrent requests in this
 * process run one after another instead of racing each other into failed conditional writes. It is an
 * optimisation only: correctness across processes and Lambda instances comes from the write conditions
 * (sequence number, state, available funds), which stay in force.
 */
const tails = new Map<string, Promise<unknown>>();

export async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}
