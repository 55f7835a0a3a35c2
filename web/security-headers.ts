/**
 * The web apps' security headers, one source for CloudFront (lib/web-stack.ts, a response headers
 * policy) and the local server (local/web/web-assets.ts). The CSP allows no inline script and no eval:
 * Vite emits module scripts in files, and the apps read their settings from /config.json.
 */
export function contentSecurityPolicy(origins: {
  /** The API's origin when it is not this one (AWS: API Gateway), else null. */
  readonly apiOrigin: string | null;
  /** The sign-in's origin (AWS: the Cognito hosted UI domain, for the token call), else null. */
  readonly authOrigin: string | null;
  /** Upgrade http subresources to https (AWS; not on http://127.0.0.1). */
  readonly upgradeInsecure?: boolean;
}): string {
  const connect = ["'self'", origins.apiOrigin, origins.authOrigin].filter(Boolean).join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(origins.upgradeInsecure ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

/** Headers besides the CSP; HSTS only where the site is served over https (CloudFront). */
export const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
} as const;

export const HSTS_SECONDS = 63_072_000;
