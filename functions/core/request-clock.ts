/**
 * A request's clock: its own time (its arrival; a job or a test may set another) moved on by what has
 * elapsed since, so each attempt of a change is timed as its own write, not as the request's start.
 */
export function requestClock(start: Date | undefined): () => Date {
  const startedMs = Date.now();
  return () => new Date((start?.getTime() ?? startedMs) + Date.now() - startedMs);
}
