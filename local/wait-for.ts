/**
 * Resolves with `found()` once it holds at least `count` items, checked now and whenever one of
 * `waiters` is woken; rejects with `failure()` after `timeoutMs`. The stand-ins' waits for recorded calls.
 */
export function waitForCount<T>(
  waiters: Set<() => void>,
  found: () => T[],
  count: number,
  timeoutMs: number,
  failure: () => string,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const items = found();
      if (items.length < count) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve(items);
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(failure()));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}
