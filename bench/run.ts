/**
 * `npm run bench` runs every benchmark, `npm run bench -- <name> [<name>...]` only those. Each runs in its
 * own process (the handlers read process.env, one local stack per process) and prints one JSON object;
 * this prints them together as one object and also writes it to bench/results/<start time>.json
 * (git-ignored), or to BENCH_OUT=<file>.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine } from './lib/machine';

const ALL = [
  'hot-path',
  'cost',
  'handler',
  'cold-start',
  'contention',
  'stream-lag',
  'timing-oracle',
  'pass-sign',
  'export',
  'web',
  'breakage',
  'bulk-validate',
  'production-order',
  'bulk-issue',
  'promotion-run',
] as const;
const asked = process.argv.slice(2).filter((arg) => arg !== '--');
const unknown = asked.filter((name) => !(ALL as readonly string[]).includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; choose from ${ALL.join(', ')}\n`);
  process.exit(2);
}
const names = asked.length > 0 ? asked : [...ALL];

function runOne(name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${name}.ts`)], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`bench ${name} exited with ${code}`));
      try {
        resolve(JSON.parse(out.slice(out.indexOf('{'))));
      } catch (error) {
        reject(new Error(`bench ${name} printed no JSON object: ${String(error)}`));
      }
    });
  });
}

const started = Date.now();
const results: Record<string, unknown> = {};
let failed = false;
for (const name of names) {
  process.stderr.write(`[bench] ${name}...\n`);
  const t0 = Date.now();
  try {
    results[name] = await runOne(name);
  } catch (error) {
    failed = true;
    results[name] = { error: (error as Error).message };
  }
  process.stderr.write(`[bench] ${name} done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
}
const report = {
  machine: machine(),
  startedAt: new Date(started).toISOString(),
  seconds: Math.round((Date.now() - started) / 1000),
  results,
};
const json = JSON.stringify(report, null, 2);
process.stdout.write(`${json}\n`);
const resultsDir = join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = process.env.BENCH_OUT || join(resultsDir, `${report.startedAt.replaceAll(':', '-')}.json`);
writeFileSync(file, `${json}\n`);
process.stderr.write(`[bench] results written to ${file}\n`);
process.exit(failed ? 1 : 0);
