import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionBuildOptions, PROJECT_ROOT } from '../../lib/constructs/bundle';

/**
 * A logged error's stack in source positions, in a bundle built as deployed (split, minified, maps beside
 * the chunks) and run by a plain `node` without --enable-source-maps, as Lambda now runs it.
 */
const PROBE = `import { logger } from '${PROJECT_ROOT}/functions/logger';
import { originalStack, withOriginalPositions } from '${PROJECT_ROOT}/functions/observability/stack-positions';
function refuse(): never {
  throw new Error('quoted in a message: /var/task/index.mjs:1:1');
}
try {
  refuse();
} catch (error) {
  const stack = (error as Error).stack ?? '';
  const wrapped = new TypeError('wrapped', { cause: error });
  const copy = withOriginalPositions(wrapped) as TypeError & { cause: Error };
  logger.error('Unhandled error', error as Error);
  console.log(JSON.stringify({
    raw: stack,
    mapped: originalStack(stack),
    outside: originalStack(stack, '/nowhere'),
    logged: {
      typeError: copy instanceof TypeError,
      message: copy.message,
      stack: copy.stack,
      causeStack: copy.cause.stack,
      originalUntouched: /index\\.mjs:\\d+:\\d+/.test(wrapped.stack ?? '') && (error as Error).stack === stack,
    },
    other: withOriginalPositions({ stack: 'not an error' }),
  }));
}
`;

let dir: string;
let out: {
  raw: string;
  mapped: string;
  outside: string;
  logged: {
    typeError: boolean;
    message: string;
    stack: string;
    causeStack: string;
    originalUntouched: boolean;
  };
  other: unknown;
};
/** The line the function's logger wrote for the error. */
let line: { error?: { location?: string; stack?: string } };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stack-positions-'));
  writeFileSync(join(dir, 'probe.ts'), PROBE);
  await build({ ...functionBuildOptions(join(dir, 'probe.ts'), join(dir, 'task')), logLevel: 'error' });
  const run = spawnSync(process.execPath, [join(dir, 'task', 'index.mjs')], {
    env: {
      PATH: process.env.PATH ?? '',
      LAMBDA_TASK_ROOT: join(dir, 'task'),
      POWERTOOLS_SERVICE_NAME: 'probe',
    },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout.trim().split('\n');
  out = JSON.parse(lines.at(-1) ?? '{}');
  // Powertools writes an ERROR line with console.error: to stderr (CloudWatch takes both).
  line = JSON.parse(run.stderr.split('\n').find((text) => text.includes('"Unhandled error"')) ?? '{}');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stack traces of a deployed bundle', () => {
  it('name the minified chunk when Node maps nothing', () => {
    expect(out.raw).toMatch(/index\.mjs:1:\d+/);
    expect(out.raw).not.toContain('probe.ts');
    expect(readFileSync(join(dir, 'task', 'index.mjs'), 'utf8')).not.toContain('function refuse');
  });

  it('are put in source positions when logged: the throwing line of the source', () => {
    // Positions, not names: a frame keeps its minified function name.
    expect(out.mapped).toMatch(/at \S+ \(.*probe\.ts:4:\d+\)/);
    expect(out.mapped).not.toMatch(/index\.mjs:1:\d+\)/);
  });

  it('leave the message alone, whatever it quotes, and frames outside the function', () => {
    expect(out.mapped.split('\n')[0]).toBe('Error: quoted in a message: /var/task/index.mjs:1:1');
    expect(out.outside).toBe(out.raw);
  });

  it('give a logged error a copy of its class with its stack and its cause mapped, the error itself unchanged', () => {
    expect(out.logged.typeError).toBe(true);
    expect(out.logged.message).toBe('wrapped');
    expect(out.logged.stack).toMatch(/at .*probe\.ts:\d+:\d+/);
    expect(out.logged.causeStack).toBe(out.mapped);
    expect(out.logged.originalUntouched).toBe(true);
    expect(out.other).toEqual({ stack: 'not an error' });
  });

  it("are written so by the function's logger", () => {
    expect(line.error?.location).toMatch(/probe\.ts:4$/);
    expect(line.error?.stack).toMatch(/probe\.ts:4:\d+\)/);
    expect(line.error?.stack).not.toMatch(/index\.mjs:\d+:\d+\)/);
  });
});
