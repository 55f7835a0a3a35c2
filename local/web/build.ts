import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where `npm run build` puts the web apps (git-ignored). */
export const WEB_DIST = resolve(import.meta.dirname, '../../web/dist');
const VITE_CONFIG = resolve(import.meta.dirname, '../../web/vite.config.ts');

export const webBuilt = (dist = WEB_DIST): boolean =>
  existsSync(join(dist, 'index.html')) && existsSync(join(dist, 'console', 'index.html'));

/** Builds the portal and the console with Vite (the same as `npm run build`). */
export async function buildWebApps(options: { readonly quiet?: boolean } = {}): Promise<void> {
  const { build } = await import('vite');
  // React's production build whatever the caller's NODE_ENV (vitest sets 'test').
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: VITE_CONFIG, mode: 'production', logLevel: options.quiet ? 'warn' : 'info' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

/** `npm start` on a fresh clone: build once when web/dist is missing. */
export async function ensureWebBuild(log: (line: string) => void): Promise<void> {
  if (webBuilt()) return;
  log('Building the web apps (web/dist is missing; `npm run build` rebuilds them)...');
  await buildWebApps({ quiet: true });
}
