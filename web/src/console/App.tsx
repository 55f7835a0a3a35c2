import { useEffect, useState } from 'react';
import { webConfig } from '../shared/config';
import { completeSignIn, currentSession, may, type Session, signIn, signOut } from './auth';
import { AdminPage } from './pages/AdminPage';
import { CardPage } from './pages/CardPage';
import { FinancePage } from './pages/FinancePage';
import { FraudPage } from './pages/FraudPage';
import { OpsPage } from './pages/OpsPage';
import { SearchPage } from './pages/SearchPage';
import { navigate, useLocation } from './router';
import { SessionContext } from './session';

export function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session | undefined>(currentSession);
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (location.pathname !== '/console/callback') return;
    completeSignIn(location.search).then(
      (next) => {
        setSession(currentSession());
        window.history.replaceState(null, '', next);
        window.dispatchEvent(new PopStateEvent('popstate'));
      },
      (failure: unknown) => setError(failure instanceof Error ? failure.message : String(failure)),
    );
  }, [location.pathname, location.search]);

  if (location.pathname === '/console/callback') {
    return (
      <main className="signin">
        <h1>Signing in…</h1>
        {error && (
          <p role="alert">
            {error} <a href="/console">Start again</a>
          </p>
        )}
      </main>
    );
  }
  if (!session) return <SignIn />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} pathname={location.pathname} />
    </SessionContext.Provider>
  );
}

function SignIn() {
  const [provider, setProvider] = useState<string>();
  useEffect(() => {
    webConfig().then(
      (config) => setProvider(config.auth.provider),
      () => setProvider('unavailable'),
    );
  }, []);
  return (
    <main className="signin">
      <h1>Gift card staff console</h1>
      <p>
        {provider === 'local'
          ? 'Local demo: you will pick a staff role on the local issuer.'
          : 'Sign in with your staff account (password and authenticator code).'}
      </p>
      <button type="button" onClick={() => signIn(window.location.pathname + window.location.search)}>
        Sign in
      </button>
    </main>
  );
}

interface NavItem {
  readonly path: string;
  readonly label: string;
  readonly allowed: (session: Session) => boolean;
}

const NAV: readonly NavItem[] = [
  { path: '/console', label: 'Cards', allowed: () => true },
  { path: '/console/fraud', label: 'Fraud queue', allowed: may.fraud },
  { path: '/console/finance', label: 'Finance', allowed: may.finance },
  { path: '/console/admin', label: 'Admin', allowed: may.admin },
  { path: '/console/ops', label: 'Ops', allowed: may.ops },
];

function Shell({ session, pathname }: { session: Session; pathname: string }) {
  const cardMatch = /^\/console\/cards\/([^/]+)$/.exec(pathname);
  const page = cardMatch?.[1] ? (
    <CardPage cardId={decodeURIComponent(cardMatch[1])} />
  ) : pathname === '/console/fraud' && may.fraud(session) ? (
    <FraudPage />
  ) : pathname === '/console/finance' && may.finance(session) ? (
    <FinancePage />
  ) : pathname === '/console/admin' && may.admin(session) ? (
    <AdminPage />
  ) : pathname === '/console/ops' && may.ops(session) ? (
    <OpsPage />
  ) : (
    <SearchPage />
  );
  return (
    <>
      <header className="top">
        <nav aria-label="Console">
          <ul>
            {NAV.filter((item) => item.allowed(session)).map((item) => (
              <li key={item.path}>
                <a
                  href={item.path}
                  aria-current={pathname === item.path ? 'page' : undefined}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(item.path);
                  }}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="signed-in-as">
            {session.email} ({session.roles.join(', ') || 'no role'})
          </span>
          <button type="button" className="link" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="page">{page}</main>
    </>
  );
}
