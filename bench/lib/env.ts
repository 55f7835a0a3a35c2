/** Benchmark knobs: `BENCH_<NAME>` environment variables with defaults sized for a few minutes per script. */
export function knob(name: string, fallback: number): number {
  const raw = process.env[`BENCH_${name}`];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`BENCH_${name} must be a non-negative number`);
  return value;
}

/** Progress goes to stderr; stdout carries only the one JSON object. */
export function progress(message: string): void {
  if (process.env.BENCH_QUIET !== '1') process.stderr.write(`[bench] ${message}\n`);
}

/** Prints the script's result: one JSON object on stdout. */
export function emit(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
