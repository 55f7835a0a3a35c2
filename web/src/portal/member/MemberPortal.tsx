import { useState } from 'react';
import { MemberHome } from './MemberHome';
import { RegisterForm, SignInForm } from './MemberSignIn';
import { loadSession, type MemberSession, saveSession } from './session';

/**
 * The loyalty member pages of the portal (`#/member/<loyaltyProgramId>`): register with consent, sign in
 * with the code the delivery service sends, then the member's points, tier, history, linked cards,
 * rewards, data export and deletion (MemberHome). Passwordless; the session lives in this tab only.
 */
export function MemberPortal({ loyaltyProgramId }: { readonly loyaltyProgramId: string }) {
  const [session, setSession] = useState<MemberSession | undefined>(() => loadSession(loyaltyProgramId));
  const [mode, setMode] = useState<'sign-in' | 'register'>('sign-in');
  const [notice, setNotice] = useState<string>();

  const signedIn = (next: MemberSession | undefined) => {
    saveSession(loyaltyProgramId, next);
    setSession(next);
  };

  return (
    <main className="portal">
      <h1>Loyalty members</h1>
      {notice && (
        <p role="status" data-testid="member-notice">
          {notice}
        </p>
      )}
      {session ? (
        <MemberHome
          session={session}
          onSignedOut={(message) => {
            signedIn(undefined);
            setNotice(message);
          }}
        />
      ) : mode === 'register' ? (
        <RegisterForm
          loyaltyProgramId={loyaltyProgramId}
          onRegistered={() => {
            setMode('sign-in');
            setNotice('You are registered. Sign in with the code we send you.');
          }}
          onCancel={() => setMode('sign-in')}
        />
      ) : (
        <SignInForm
          loyaltyProgramId={loyaltyProgramId}
          onSignedIn={(next) => {
            setNotice(undefined);
            signedIn(next);
          }}
          onRegister={() => {
            setNotice(undefined);
            setMode('register');
          }}
        />
      )}
    </main>
  );
}
