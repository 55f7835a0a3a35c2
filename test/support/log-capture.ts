import { format } from 'node:util';

/**
 * Every line written to stdout, stderr or the console while it runs, kept in `lines` (Powertools writes
 * JSON lines to process.stdout/stderr; the local runtime logs through the console): the log-safety checks
 * search them for codes, PINs, keys and tokens. Nothing reaches the terminal until `restore()`.
 */
export interface CapturedOutput {
  readonly lines: string[];
  restore(): void;
}

const text = (chunk: unknown): string =>
  typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);

export function captureOutput(lines: string[] = []): CapturedOutput {
  const restores: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      lines.push(text(chunk));
      (rest.find((arg) => typeof arg === 'function') as (() => void) | undefined)?.();
      return true;
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = original;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      lines.push(`${format(...args)}\n`);
    };
    restores.push(() => {
      console[method] = original;
    });
  }
  return {
    lines,
    restore: () => {
      for (const restore of restores.splice(0).reverse()) restore();
    },
  };
}
