import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STAFF_ROLES, type StaffRole } from '../../functions/http/route-table';
import type { StaffIssuer } from '../staff-issuer';

/**
 * The local stand-in for the Cognito hosted UI under `npm start`: the same OAuth 2.0 authorization code
 * flow with PKCE (S256) the console runs against Cognito in AWS, so the console has one sign-in path.
 * The "sign-in page" is a role picker for the demo staff (no password: it is a local demo issuer); the
 * token endpoint answers an ID token from the local staff issuer, which the handlers verify like
 * Cognito's. Paths mirror Cognito's: /oauth2/authorize, /oauth2/token, /logout under `<base>`.
 */
export const LOCAL_OAUTH_CLIENT_ID = 'giftcard-local-console';
/** The console's tokens last an hour, as the Cognito app client's do. */
const TOKEN_SECONDS = 3600;
const CODE_MS = 5 * 60_000;
const MAX_PENDING_CODES = 1_000;

interface PendingCode {
  readonly role: StaffRole;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly expiresAt: number;
}

export interface LocalOAuth {
  /** True when the request was for the issuer (answered). */
  handle(request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<boolean>;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function send(response: ServerResponse, status: number, type: string, body: string, extra = {}): void {
  response.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    ...extra,
  });
  response.end(body);
}

const oauthError = (response: ServerResponse, error: string, description: string) =>
  send(response, 400, 'application/json', JSON.stringify({ error, error_description: description }));

export function createLocalOAuth(options: {
  readonly issuer: StaffIssuer;
  /** `<baseUrl>/local-issuer`: the issuer's own URL, under which these endpoints live. */
  readonly basePath: string;
  /** Redirects must go back to this origin (the local server's). */
  readonly origin: () => string;
}): LocalOAuth {
  const codes = new Map<string, PendingCode>();
  const path = (suffix: string) => `${options.basePath}${suffix}`;

  const redirectAllowed = (uri: string | null): uri is string => {
    if (!uri || !URL.canParse(uri)) return false;
    const url = new URL(uri);
    const origin = new URL(options.origin());
    // The console on this server (127.0.0.1 or localhost, same port).
    return (
      url.port === origin.port &&
      (url.hostname === '127.0.0.1' || url.hostname === 'localhost') &&
      url.pathname.startsWith('/console')
    );
  };

  const authorizePage = (query: URLSearchParams): string => {
    const hidden = ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method']
      .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(query.get(name) ?? '')}">`)
      .join('');
    const buttons = STAFF_ROLES.map(
      (role) => `<button type="submit" name="role" value="${role}">Sign in as ${role}</button>`,
    ).join('');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Local staff sign-in</title><style>body{font:16px system-ui;margin:3rem auto;max-width:28rem;padding:0 1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem}</style></head><body><main>
<h1>Local staff sign-in</h1><p>The local issuer of <code>npm start</code> (in AWS: the Cognito hosted UI with MFA).
Pick a demo staff role.</p><form method="post" action="${path('/oauth2/authorize')}">${hidden}${buttons}</form>
</main></body></html>`;
  };

  const authorize = (response: ServerResponse, params: URLSearchParams, method: string) => {
    const redirectUri = params.get('redirect_uri');
    if (params.get('client_id') !== LOCAL_OAUTH_CLIENT_ID || !redirectAllowed(redirectUri)) {
      return oauthError(response, 'invalid_request', 'unknown client_id or redirect_uri');
    }
    const challenge = params.get('code_challenge') ?? '';
    if (params.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return oauthError(response, 'invalid_request', 'PKCE with S256 is required');
    }
    if (method === 'GET') return send(response, 200, 'text/html; charset=utf-8', authorizePage(params));
    const role = params.get('role') as StaffRole | null;
    if (!role || !STAFF_ROLES.includes(role)) return oauthError(response, 'invalid_request', 'pick a role');
    if (codes.size >= MAX_PENDING_CODES) codes.clear();
    const code = randomBytes(24).toString('base64url');
    codes.set(code, { role, redirectUri, challenge, expiresAt: Date.now() + CODE_MS });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = params.get('state');
    if (state) target.searchParams.set('state', state);
    return send(response, 302, 'text/plain', '', { Location: target.toString() });
  };

  const token = async (response: ServerResponse, form: URLSearchParams) => {
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    const verifier = form.get('code_verifier') ?? '';
    if (
      form.get('grant_type') !== 'authorization_code' ||
      form.get('client_id') !== LOCAL_OAUTH_CLIENT_ID ||
      !pending ||
      pending.expiresAt < Date.now() ||
      pending.redirectUri !== form.get('redirect_uri') ||
      createHash('sha256').update(verifier).digest('base64url') !== pending.challenge
    ) {
      return oauthError(response, 'invalid_grant', 'the code is unknown, used, expired or not yours');
    }
    // A time span: jose reads a bare number as an absolute expiry (seconds since 1970).
    const idToken = await options.issuer.mintStaffToken(pending.role, { expiresIn: `${TOKEN_SECONDS}s` });
    return send(
      response,
      200,
      'application/json',
      JSON.stringify({ id_token: idToken, token_type: 'Bearer', expires_in: TOKEN_SECONDS }),
    );
  };

  return {
    handle: async (request, response, body) => {
      const url = new URL(request.url ?? '/', 'http://local');
      const method = (request.method ?? 'GET').toUpperCase();
      if (url.pathname === path('/oauth2/authorize') && (method === 'GET' || method === 'POST')) {
        const params = method === 'GET' ? url.searchParams : new URLSearchParams(body.toString('utf8'));
        authorize(response, params, method);
        return true;
      }
      if (url.pathname === path('/oauth2/token') && method === 'POST') {
        await token(response, new URLSearchParams(body.toString('utf8')));
        return true;
      }
      if (url.pathname === path('/logout') && method === 'GET') {
        const back = url.searchParams.get('logout_uri');
        if (redirectAllowed(back)) send(response, 302, 'text/plain', '', { Location: back });
        else oauthError(response, 'invalid_request', 'bad logout_uri');
        return true;
      }
      return false;
    },
  };
}
