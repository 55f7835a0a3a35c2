import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_ENTRY_FILE, functionBuildOptions, loadedAtImport } from '../../lib/constructs/bundle';

/**
 * bench/cold-start.ts's bundles: each target built exactly as deployed (lib/constructs/bundle.ts, with a
 * metafile), and what a cold start of it compiles.
 */
export interface ColdStartBundle {
  /** The entry Lambda would load. */
  readonly file: string;
  /** What a cold start compiles before the handler runs: the entry and its static chunks. */
  readonly kb: number;
  readonly gzipKb: number;
  readonly sourceMapKb: number;
  /** Every chunk, the lazily loaded ones too. */
  readonly allChunksKb: number;
  readonly chunksAtImport: number;
  readonly largestPackagesKb: Record<string, number>;
}

const kb = (bytes: number) => Math.round(bytes / 1024);

/** Bytes per package in the given outputs of a bundle, from esbuild's metafile. */
function largestInputs(metafile: Metafile, outputs: readonly string[]): Record<string, number> {
  const byPackage: Record<string, number> = {};
  for (const output of outputs) {
    for (const [path, { bytesInOutput }] of Object.entries(metafile.outputs[output]?.inputs ?? {})) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = match?.[1] ?? path.split('/').slice(0, 2).join('/');
      byPackage[name] = (byPackage[name] ?? 0) + bytesInOutput;
    }
  }
  return Object.fromEntries(
    Object.entries(byPackage)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 6)
      .map(([name, bytes]) => [name, kb(bytes)]),
  );
}

/** Bundles `entry` into `dir` as deployed and measures it. */
export async function coldStartBundle(entry: string, dir: string): Promise<ColdStartBundle> {
  const result = await build({ ...functionBuildOptions(entry, dir), metafile: true, logLevel: 'error' });
  const atImport = loadedAtImport(result.metafile);
  const code = atImport.map((output) => readFileSync(resolve(output)));
  const allChunks = Object.entries(result.metafile.outputs).filter(([output]) => output.endsWith('.mjs'));
  return {
    file: join(dir, BUNDLE_ENTRY_FILE),
    kb: kb(code.reduce((sum, bytes) => sum + bytes.length, 0)),
    gzipKb: kb(code.reduce((sum, bytes) => sum + gzipSync(bytes).length, 0)),
    sourceMapKb: kb(atImport.reduce((sum, output) => sum + statSync(resolve(`${output}.map`)).size, 0)),
    allChunksKb: kb(allChunks.reduce((sum, [, output]) => sum + output.bytes, 0)),
    chunksAtImport: atImport.length,
    largestPackagesKb: largestInputs(result.metafile, atImport),
  };
}
