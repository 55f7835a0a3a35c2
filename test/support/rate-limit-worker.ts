/**
 * One "Lambda instance" for the cross-process rate limit test: its own process, SDK client and memory
 * of buckets, so only the bucket's write condition stands between it and the others.
 * Usage (env as the handlers read it):
 *   tsx rate-limit-worker.ts <scope> <count> <capacity> <refillPerSecond> <now> <queued|racing>
 * `racing` skips the in-process queue, so even this process's own takes race through the condition.
 */
import { consume, takeFromBucket } from '../../functions/store/rate-limits';

const [scope = '', count = '0', capacity = '1', refillPerSecond = '1', now = '0', mode = 'queued'] =
  process.argv.slice(2);
const take = mode === 'racing' ? takeFromBucket : consume;
const limits = { capacity: Number(capacity), refillPerSecond: Number(refillPerSecond) };
const outcomes = { allowed: 0, refused: 0 };
await Promise.all(
  Array.from({ length: Number(count) }, async () => {
    const decision = await take(scope, limits, Number(now));
    if (decision.allowed) outcomes.allowed += 1;
    else outcomes.refused += 1;
  }),
);
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
