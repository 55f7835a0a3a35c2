import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname } from 'node:path';

/**
 * Where a bundle's CPU time goes: a V8 CPU profile (`node --cpu-prof`) of one cold start, its samples'
 * self time mapped back through the bundle's source map to the package (or our own source file) the code
 * came from. Used by bench/cold-start.ts (BENCH_COLD_PROFILE).
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A source path as a package name (node_modules/@scope/name) or our own file (functions/store/x.ts). */
function owner(source: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (pkg?.[1]) return pkg[1];
  const ours = /(functions|bench|local)\/.*$/.exec(source);
  return ours?.[0] ?? source;
}

export interface ProfileSummary {
  readonly sampledMs: number;
  /** Self time by package or own source file, largest first (ms). */
  readonly bySource: Record<string, number>;
  /** The largest parts of 'node internals' (module loading, source maps, crypto...), by file and function. */
  readonly nodeInternals: Record<string, number>;
}

const largest = (totals: Map<string, number>, top: number) =>
  Object.fromEntries(
    [...totals.entries()]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([where, us]) => [where, Math.round(us / 100) / 10]),
  );

/**
 * Several profiles of the same bundle (BENCH_COLD_PROFILE_RUNS) are summed and divided by their count: one
 * cold start's profile on a busy machine says more about the machine than about the bundle.
 */
export function summarizeProfile(
  profilePaths: string | readonly string[],
  bundlePath: string,
  top = 15,
): ProfileSummary {
  const paths = typeof profilePaths === 'string' ? [profilePaths] : profilePaths;
  // The entry and its chunks (lib/constructs/bundle.ts), each with its own map.
  const bundleDir = `file://${dirname(bundlePath)}/`;
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (url: string) => {
    if (!maps.has(url)) {
      const file = `${url.slice('file://'.length)}.map`;
      maps.set(url, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined);
    }
    return maps.get(url);
  };
  const selfUs = new Map<string, number>();
  const internalUs = new Map<string, number>();
  let total = 0;
  for (const profilePath of paths) {
    const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
    addSamples(profile);
  }
  const runs = Math.max(paths.length, 1);
  const averaged = (totals: Map<string, number>) =>
    new Map([...totals].map(([where, us]) => [where, us / runs]));
  return {
    sampledMs: Math.round(total / 1000 / runs),
    bySource: largest(averaged(selfUs), top),
    nodeInternals: largest(averaged(internalUs), 8),
  };

  function addSamples(profile: CpuProfile): void {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      total += delta;
      const frame = nodes.get(id)?.callFrame;
      let where = frame?.url || frame?.functionName || '(native)';
      const map = frame?.url.startsWith(bundleDir) ? mapOf(frame.url) : undefined;
      if (frame && map) {
        const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
        where = entry.originalSource ? owner(entry.originalSource) : '(bundle, unmapped)';
      } else if (frame?.url.startsWith('node:')) {
        where = 'node internals';
        const name = `${frame.url.replace(/^node:internal\//, '')} ${frame.functionName || '(anonymous)'}`;
        internalUs.set(name, (internalUs.get(name) ?? 0) + delta);
      }
      selfUs.set(where, (selfUs.get(where) ?? 0) + delta);
    });
  }
}
