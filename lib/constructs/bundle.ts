import * as path from 'node:path';
import { type BuildOptions, buildSync, type Metafile } from 'esbuild';

/** The repository root: the lock file, tsconfig and functions/ live here. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** ESM output needs `require` for the CommonJS dependencies esbuild leaves as dynamic requires. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** The module Lambda loads: `index.mjs` at the asset's root, exporting `handler`. */
export const BUNDLE_ENTRY_FILE = 'index.mjs';

/**
 * How every Lambda function is bundled (lib/constructs/function.ts), and how bench/cold-start.ts bundles
 * them to measure exactly what is deployed: esbuild, minified, ESM for Node.js 22, with source maps (no
 * sources inside), the AWS SDK bundled (the versions of package-lock.json the tests ran against).
 *
 * Split into chunks: code reached only through a dynamic `import()` goes to files of its own under
 * `chunks/`, loaded when that import first runs. A single-file bundle keeps such code in the one module V8
 * compiles at every cold start: zod behind the schema loaders (functions/http/api-handler.ts SchemaSource),
 * the X-Ray SDK behind Tracer (functions/observability/tracer.ts, loaded only in Lambda), jose, and the AWS
 * SDK's own lazily loaded credential providers. Code shared by the entry and a lazy chunk is a chunk the
 * entry imports statically. The source maps are read only when a logged error's stack is put in source
 * positions (functions/observability/stack-positions.ts), not by Node at start.
 */
export function functionBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: { index: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
    // `cdk synth -q` stays quiet; esbuild warnings and errors still show.
    logLevel: 'warning',
  };
}

/** Bundles one function into `outdir` (synchronously: CDK's local bundling is synchronous). */
export function bundleFunction(entry: string, outdir: string): void {
  buildSync(functionBuildOptions(entry, outdir));
}

/**
 * The output files a cold start compiles before the handler runs: the entry and the chunks it imports
 * statically, transitively (esbuild's metafile, paths as it names them). The rest load on first use.
 */
export function loadedAtImport(metafile: Metafile): string[] {
  const entry = Object.keys(metafile.outputs).find((output) => output.endsWith(`/${BUNDLE_ENTRY_FILE}`));
  const loaded = new Set<string>();
  const pending = entry ? [entry] : [];
  for (let output = pending.pop(); output !== undefined; output = pending.pop()) {
    if (loaded.has(output)) continue;
    loaded.add(output);
    for (const imported of metafile.outputs[output]?.imports ?? []) {
      if (imported.kind === 'import-statement' && metafile.outputs[imported.path])
        pending.push(imported.path);
    }
  }
  return [...loaded];
}
