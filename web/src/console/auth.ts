import { webConfig } from '../shared/config';

/**
 * Staff sign-in: OAuth 2.0 authorization code with PKCE (S256), no client secret. In AWS the Cognito
 * hosted UI (MFA enforced by the user pool); under `npm start` the local issuer's role picker, at the
 * same endpoints. The ID token is what the API verifies; it is kept in sessionStorage (this tab only,
 * gone when it closes) and never in a cookie, so no request carries it unless the console sends it.
 */
export type StaffRole = 'admin' | 'support' | 'finance' | 'ops';

export interface Session {
  readonly idToken: string;
  readonly email: string;
  readonly roles: readonly StaffRole[];
  readonly expiresAt: number;
}

const SESSION = 'giftcard.console.session';
const PENDING = 'giftcard.console.pending';
const ROLES: readonly StaffRole[] = ['admin', 'support', 'finance', 'ops'];

const callbackUrl = () => `${window.location.origin}/console/callback`;

function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const array = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = '';
  for (const byte of array) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const randomText = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  return JSON.parse(json) as Record<string, unknown>;
}

export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(SESSION);
  if (!raw) return undefined;
  try {
    const session = JSON.parse(raw) as Session;
    if (session.expiresAt > Date.now() + 30_000) return session;
  } catch {
    // A damaged entry is as good as none.
  }
  sessionStorage.removeItem(SESSION);
  return undefined;
}

export async function signIn(returnTo: string): Promise<void> {
  const { auth } = await webConfig();
  const verifier = randomText(48);
  const state = randomText(24);
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL(auth.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: auth.clientId,
    redirect_uri: callbackUrl(),
    scope: auth.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

/** The end of the redirect: checks the state, trades the code for tokens, returns where to go next. */
export async function completeSignIn(search: string): Promise<string> {
  const params = new URLSearchParams(search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    verifier: string;
    state: string;
    returnTo: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  const error = params.get('error');
  if (error) throw new Error(`Sign-in was refused: ${params.get('error_description') ?? error}`);
  const code = params.get('code');
  if (!pending || !code || params.get('state') !== pending.state) {
    throw new Error('This sign-in link is stale or was not started here: sign in again.');
  }
  const { auth } = await webConfig();
  const response = await fetch(auth.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: auth.clientId,
      code,
      redirect_uri: callbackUrl(),
      code_verifier: pending.verifier,
    }).toString(),
  });
  if (!response.ok) throw new Error(`Sign-in failed (${response.status}): sign in again.`);
  const tokens = (await response.json()) as { id_token?: string };
  if (!tokens.id_token) throw new Error('The sign-in answered no ID token.');
  const claims = decodeClaims(tokens.id_token);
  const groups = Array.isArray(claims['cognito:groups']) ? (claims['cognito:groups'] as string[]) : [];
  const session: Session = {
    idToken: tokens.id_token,
    email: typeof claims.email === 'string' ? claims.email : String(claims.sub ?? 'staff'),
    roles: ROLES.filter((role) => groups.includes(role)),
    expiresAt: Number(claims.exp ?? 0) * 1000,
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return pending.returnTo.startsWith('/console') ? pending.returnTo : '/console';
}

export async function signOut(): Promise<void> {
  sessionStorage.removeItem(SESSION);
  const { auth } = await webConfig();
  const url = new URL(auth.logoutUrl);
  url.search = new URLSearchParams({
    client_id: auth.clientId,
    logout_uri: `${window.location.origin}/console/`,
  }).toString();
  window.location.assign(url.toString());
}

/** What each role may use, as the API's route table allows (functions/http/route-table.ts). */
export const may = {
  act: (session: Session) => session.roles.some((role) => role === 'admin' || role === 'support'),
  fraud: (session: Session) => session.roles.some((role) => role === 'admin' || role === 'support'),
  finance: (session: Session) => session.roles.some((role) => role === 'admin' || role === 'finance'),
  admin: (session: Session) => session.roles.includes('admin'),
  ops: (session: Session) => session.roles.some((role) => role === 'admin' || role === 'ops'),
};
