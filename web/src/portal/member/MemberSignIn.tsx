import { type FormEvent, useState } from 'react';
import { call, idempotencyHeader } from '../../shared/api';
import { type MemberSession, memberMessage } from './session';

type Channel = 'EMAIL' | 'SMS';
const TERMS_VERSION = '2026-01';

function ContactFields({
  channel,
  contact,
  onChannel,
  onContact,
}: {
  readonly channel: Channel;
  readonly contact: string;
  readonly onChannel: (channel: Channel) => void;
  readonly onContact: (contact: string) => void;
}) {
  return (
    <>
      <label htmlFor="member-channel">Send my code by</label>
      <select id="member-channel" value={channel} onChange={(e) => onChannel(e.target.value as Channel)}>
        <option value="EMAIL">E-mail</option>
        <option value="SMS">Text message</option>
      </select>
      <label htmlFor="member-contact">{channel === 'EMAIL' ? 'E-mail address' : 'Phone number (+1…)'}</label>
      <input
        id="member-contact"
        type={channel === 'EMAIL' ? 'email' : 'tel'}
        autoComplete={channel === 'EMAIL' ? 'email' : 'tel'}
        required
        value={contact}
        onChange={(e) => onContact(e.target.value)}
      />
    </>
  );
}

export function RegisterForm({
  loyaltyProgramId,
  onRegistered,
  onCancel,
}: {
  readonly loyaltyProgramId: string;
  readonly onRegistered: () => void;
  readonly onCancel: () => void;
}) {
  const [channel, setChannel] = useState<Channel>('EMAIL');
  const [contact, setContact] = useState('');
  const [accepted, setAccepted] = useState(false);
  const [marketing, setMarketing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const register = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await call((api) =>
        api.POST('/v1/loyalty/programs/{loyaltyProgramId}/members', {
          params: { path: { loyaltyProgramId } },
          headers: idempotencyHeader(),
          body: {
            channel,
            contact: contact.trim(),
            consent: { termsVersion: TERMS_VERSION, accepted: true, marketing },
          },
        }),
      );
      onRegistered();
    } catch (failure) {
      setError(memberMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={register} className="card-form" aria-label="Register">
      <h2>Register</h2>
      <ContactFields channel={channel} contact={contact} onChannel={setChannel} onContact={setContact} />
      <label>
        <input type="checkbox" checked={accepted} onChange={(e) => setAccepted(e.target.checked)} /> I accept
        the programme terms and privacy notice ({TERMS_VERSION})
      </label>
      <label>
        <input type="checkbox" checked={marketing} onChange={(e) => setMarketing(e.target.checked)} /> Send me
        member offers on my cards
      </label>
      <button type="submit" disabled={busy || !accepted || contact.trim() === ''}>
        {busy ? 'Registering…' : 'Register'}
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        I am already a member
      </button>
      {error && (
        <p role="alert" className="error" data-testid="member-error">
          {error}
        </p>
      )}
    </form>
  );
}

export function SignInForm({
  loyaltyProgramId,
  onSignedIn,
  onRegister,
}: {
  readonly loyaltyProgramId: string;
  readonly onSignedIn: (session: MemberSession) => void;
  readonly onRegister: () => void;
}) {
  const [channel, setChannel] = useState<Channel>('EMAIL');
  const [contact, setContact] = useState('');
  const [challengeId, setChallengeId] = useState<string>();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const sendCode = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const started = await call((api) =>
        api.POST('/v1/loyalty/programs/{loyaltyProgramId}/sign-in', {
          params: { path: { loyaltyProgramId } },
          body: { channel, contact: contact.trim() },
        }),
      );
      setChallengeId(started.challengeId);
    } catch (failure) {
      setError(memberMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  const verify = async (event: FormEvent) => {
    event.preventDefault();
    if (!challengeId) return;
    setBusy(true);
    setError(undefined);
    try {
      const session = await call((api) =>
        api.POST('/v1/loyalty/sign-in/verify', { body: { challengeId, code: code.trim() } }),
      );
      onSignedIn(session);
    } catch (failure) {
      setError(memberMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return challengeId ? (
    <form onSubmit={verify} className="card-form" aria-label="Enter your code">
      <h2>Enter your code</h2>
      <p>If this contact is registered, we sent it a 6-digit code. It works for 10 minutes.</p>
      <label htmlFor="member-code">Code</label>
      <input
        id="member-code"
        inputMode="numeric"
        autoComplete="one-time-code"
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
      />
      <button type="submit" disabled={busy || code.trim() === ''}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <button type="button" className="secondary" onClick={() => setChallengeId(undefined)}>
        Send a new code
      </button>
      {error && (
        <p role="alert" className="error" data-testid="member-error">
          {error}
        </p>
      )}
    </form>
  ) : (
    <form onSubmit={sendCode} className="card-form" aria-label="Sign in">
      <h2>Sign in</h2>
      <ContactFields channel={channel} contact={contact} onChannel={setChannel} onContact={setContact} />
      <button type="submit" disabled={busy || contact.trim() === ''}>
        {busy ? 'Sending…' : 'Send me a code'}
      </button>
      <button type="button" className="secondary" onClick={onRegister}>
        Register as a member
      </button>
      {error && (
        <p role="alert" className="error" data-testid="member-error">
          {error}
        </p>
      )}
    </form>
  );
}
