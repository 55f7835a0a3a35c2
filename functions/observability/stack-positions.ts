import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces in our own source positions, mapped only when an error is logged. A deployed function runs
 * a minified bundle (lib/constructs/bundle.ts) whose source maps sit beside its chunks. Node's
 * `--enable-source-maps` would read and index every chunk's map at every cold start (about 10 % of it,
 * BENCHMARKS.md); here a chunk's map is read the first time a logged stack names that chunk, and never
 * otherwise. Frames outside the function's own code (`LAMBDA_TASK_ROOT`: Node's internals, the runtime)
 * and frames no map covers are left as they are. Where Node maps stacks itself (`npm start` and the tests
 * run the sources through tsx, which enables source maps), nothing is done.
 */

/** `file:///var/task/chunks/c.mjs:1:2345` or `/var/task/index.mjs:1:2345` in a frame. */
const FRAME_POSITION = /((?:file:\/\/)?\/[^\s():]+\.m?js):(\d+):(\d+)/;

const maps = new Map<string, SourceMap | undefined>();

function mapOf(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
    } catch {
      // No map beside the file (or not readable): its frames stay as they are.
      maps.set(file, undefined);
    }
  }
  return maps.get(file);
}

/** A source path from a map (`../../functions/store/x.ts`) as the repository names it. */
const sourceName = (source: string) =>
  /(?:^|\/)((?:functions|node_modules)\/.*)$/.exec(source)?.[1] ?? source;

/**
 * `stack` with every frame inside `root` (the function's code directory) in original positions:
 * `at Xe (functions/http/auth.ts:62:11)` (positions, not names: a frame keeps its minified function name).
 * Only lines that are frames (`    at ...`) are read: the first line is the error's message, which may
 * quote anything.
 */
export function originalStack(stack: string, root = process.env.LAMBDA_TASK_ROOT): string {
  if (!root || process.sourceMapsEnabled) return stack;
  return mapFrames(stack, root);
}

function mapFrames(stack: string, root: string): string {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return stack
    .split('\n')
    .map((line) => {
      if (!/^\s+at /.test(line)) return line;
      const match = FRAME_POSITION.exec(line);
      if (!match?.[1]) return line;
      const file = match[1].startsWith('file://') ? fileURLToPath(match[1]) : match[1];
      if (!file.startsWith(prefix)) return line;
      const entry = mapOf(file)?.findEntry(Number(match[2]) - 1, Number(match[3]) - 1) as
        | { originalSource?: string; originalLine?: number; originalColumn?: number }
        | undefined;
      if (!entry?.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined)
        return line;
      const original = `${sourceName(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
      return line.replace(match[0], original);
    })
    .join('\n');
}

/**
 * An error about to be logged (the logger's JSON replacer sees it before Powertools formats it) with its
 * stack, and its cause's, in original positions: a copy of the same class, so Powertools still formats it
 * as an error and takes its `location` from the first mapped frame. Anything else is returned as it is.
 */
export function withOriginalPositions(value: unknown): unknown {
  if (!(value instanceof Error) || typeof value.stack !== 'string') return value;
  const stack = originalStack(value.stack);
  const cause = withOriginalPositions(value.cause);
  if (stack === value.stack && cause === value.cause) return value;
  const copy = Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value)) as Error;
  Object.defineProperty(copy, 'stack', { value: stack, writable: true, configurable: true });
  if (cause !== value.cause)
    Object.defineProperty(copy, 'cause', { value: cause, writable: true, configurable: true });
  return copy;
}
