import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { contentSecurityPolicy, SECURITY_HEADERS } from '../../web/security-headers';

/**
 * Serves the built web apps (web/dist) under `npm start` as CloudFront does in AWS: the portal at `/`,
 * the console at `/console` (its client-side routes fall back to console/index.html), hashed assets
 * cached for a year, `/config.json` telling the apps where the API and the sign-in are, and the same
 * security headers (lib/web-stack.ts uses web/security-headers.ts too).
 */
export interface WebConfig {
  /** '' when the API is on the same origin (locally). */
  readonly apiBaseUrl: string;
  readonly auth: {
    readonly authorizeUrl: string;
    readonly tokenUrl: string;
    readonly logoutUrl: string;
    readonly clientId: string;
    readonly scopes: string;
    /** Shown on the sign-in button. */
    readonly provider: 'local' | 'cognito';
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export function createWebAssets(options: { readonly distDir: string; readonly config: () => WebConfig }) {
  const root = resolve(options.distDir);
  // Locally the API and the issuer are this origin (and no HSTS: it would pin http://127.0.0.1 to https).
  const common: Record<string, string> = {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy({ apiOrigin: null, authOrigin: null }),
  };

  const fileFor = (pathname: string): string | undefined => {
    // The portal is one page; e-gift claim links (/portal/claim#token=...) open it too.
    if (pathname === '/' || pathname === '/index.html' || pathname === '/portal/claim')
      return join(root, 'index.html');
    if (pathname === '/console' || pathname.startsWith('/console/')) {
      const asset = safeJoin(root, pathname);
      return asset && isFile(asset) ? asset : join(root, 'console', 'index.html');
    }
    const asset = safeJoin(root, pathname);
    return asset && isFile(asset) ? asset : undefined;
  };

  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return false;
    const pathname = new URL(request.url ?? '/', 'http://local').pathname;
    if (pathname === '/config.json') {
      response.writeHead(200, { ...common, 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
      response.end(method === 'HEAD' ? undefined : JSON.stringify(options.config()));
      return true;
    }
    const file = fileFor(pathname);
    if (!file || !existsSync(file)) return false;
    const immutable = pathname.startsWith('/assets/');
    response.writeHead(200, {
      ...common,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    response.end(method === 'HEAD' ? undefined : readFileSync(file));
    return true;
  };
}

function safeJoin(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const full = normalize(join(root, decoded));
  return full === root || full.startsWith(root + sep) ? full : undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
