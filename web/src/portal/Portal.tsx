import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiProblem, call, idempotencyHeader, newIdempotencyKey } from '../shared/api';
import type { HolderBalance, HolderCard } from '../shared/api-types';
import { webConfig } from '../shared/config';
import { formatMoney } from '../shared/money';

/**
 * The card-holder portal: no account, the card's code (and PIN where it has one). Every miss (unknown
 * code, wrong PIN, another program's card) gets the same answer from the API, and the same words here.
 */
const MISS = 'We could not find a card with that code and PIN. Check both and try again.';

const ENTRY_LABELS: Record<string, string> = {
  ISSUE: 'Issued',
  ACTIVATE: 'Activated',
  LOAD: 'Value added',
  REDEEM: 'Purchase',
  REFUND: 'Refund',
  HOLD: 'Amount held',
  CAPTURE: 'Purchase',
  VOID: 'Hold released',
  REVERSAL: 'Reversal',
  TRANSFER_OUT: 'Moved to another card',
  TRANSFER_IN: 'Moved from another card',
  ADJUST_INCREMENT: 'Correction',
  ADJUST_DECREMENT: 'Correction',
  CLEAR_BALANCE: 'Cashed out',
  EXPIRE: 'Expired',
  BLOCK: 'Card blocked',
  UNBLOCK: 'Card unblocked',
  DEACTIVATE: 'Card closed',
  PIN_SET: 'PIN set',
  PIN_RESET: 'PIN reset',
};

function messageOf(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.status === 404) return MISS;
    if (error.status === 429)
      return `Too many attempts. Try again in ${error.retryAfterSeconds ?? 60} seconds.`;
    if (error.code === 'CARD_BLOCKED' || error.code === 'CARD_NOT_ACTIVE') return error.detail;
    if (error.code === 'VALIDATION_FAILED') return 'Check the code and PIN: the PIN is 4 to 12 digits.';
    return error.detail;
  }
  return 'Something went wrong. Try again in a moment.';
}

export function Portal() {
  const [code, setCode] = useState('');
  const [pin, setPin] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [balance, setBalance] = useState<HolderBalance>();

  const check = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setBalance(
        await call((api) =>
          api.POST('/v1/portal/balance', { body: { code: code.trim(), ...(pin ? { pin } : {}) } }),
        ),
      );
    } catch (failure) {
      setBalance(undefined);
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="portal">
      <h1>Gift card balance</h1>
      {!balance && (
        <form onSubmit={check} className="card-form" noValidate>
          <label htmlFor="code">Card code</label>
          <input
            id="code"
            name="code"
            autoComplete="off"
            inputMode="text"
            autoCapitalize="characters"
            spellCheck={false}
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <PinInput id="pin" label="PIN (if your card has one)" value={pin} onValue={setPin} />
          <button type="submit" disabled={busy || code.trim() === ''}>
            {busy ? 'Checking…' : 'Check balance'}
          </button>
          {error && (
            <p role="alert" className="error" data-testid="portal-error">
              {error}
            </p>
          )}
        </form>
      )}
      {balance && (
        <CardBalance
          balance={balance}
          code={code.trim()}
          pin={pin}
          onDone={() => {
            setBalance(undefined);
            setPin('');
          }}
        />
      )}
    </main>
  );
}

function CardBalance({
  balance,
  code,
  pin,
  onDone,
}: {
  balance: HolderBalance;
  code: string;
  pin: string;
  onDone: () => void;
}) {
  const { card } = balance;
  return (
    <section aria-labelledby="balance-heading">
      <h2 id="balance-heading">
        {card.programName} •••• {card.last4}
      </h2>
      <p className="balance" data-testid="portal-balance">
        {formatMoney(card.balance, card.currency)}
      </p>
      <dl className="facts">
        <dt>Available now</dt>
        <dd>{formatMoney(card.available, card.currency)}</dd>
        <dt>Status</dt>
        <dd>{card.status}</dd>
        {card.expiresAt && (
          <>
            <dt>Expires</dt>
            <dd>{new Date(card.expiresAt).toLocaleDateString()}</dd>
          </>
        )}
      </dl>
      <WalletButtons token={balance.walletToken} />
      <h3>Recent activity</h3>
      <ul className="history">
        {balance.transactions.map((entry) => (
          <li key={`${entry.createdAt}-${entry.type}-${entry.balanceAfter}`}>
            <span>{ENTRY_LABELS[entry.type] ?? entry.type}</span>
            <time dateTime={entry.createdAt}>{new Date(entry.createdAt).toLocaleDateString()}</time>
            <span className="amount">
              {entry.amount === 0 ? '' : formatMoney(entry.amount, card.currency)}
            </span>
          </li>
        ))}
      </ul>
      {card.status === 'ACTIVE' && card.available > 0 && <Transfer code={code} pin={pin} card={card} />}
      <button type="button" className="secondary" onClick={onDone}>
        Check another card
      </button>
    </section>
  );
}

export function WalletButtons({ token }: { token: string }) {
  const [apiBaseUrl, setApiBaseUrl] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    webConfig().then(
      (config) => setApiBaseUrl(config.apiBaseUrl),
      () => setApiBaseUrl(''),
    );
  }, []);
  const google = async () => {
    setError(undefined);
    try {
      const { saveUrl } = await call((api) =>
        api.GET('/v1/portal/wallet/google/{walletToken}', { params: { path: { walletToken: token } } }),
      );
      window.location.assign(saveUrl);
    } catch (failure) {
      setError(failure instanceof ApiProblem ? failure.detail : 'Google Wallet is not available now.');
    }
  };
  if (apiBaseUrl === undefined) return null;
  return (
    <div className="wallet">
      <a className="wallet-apple" href={`${apiBaseUrl}/v1/portal/wallet/apple/${token}`}>
        Add to Apple Wallet
      </a>
      <button type="button" className="wallet-google" onClick={google}>
        Save to Google Wallet
      </button>
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

function Transfer({ code, pin, card }: { code: string; pin: string; card: HolderCard }) {
  const [open, setOpen] = useState(false);
  const [toCode, setToCode] = useState('');
  const [toPin, setToPin] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  // One Idempotency-Key per submission: sending the same card and PIN again (after a timeout or a lost
  // answer) keeps it, so the API moves the value at most once; anything else typed is a new submission.
  const submission = useRef<{ typed: string; key: string }>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!window.confirm(`Move ${formatMoney(card.available, card.currency)} to the other card?`)) return;
    setBusy(true);
    setMessage(undefined);
    const typed = JSON.stringify([toCode.trim(), toPin]);
    if (submission.current?.typed !== typed) submission.current = { typed, key: newIdempotencyKey() };
    try {
      const key = submission.current.key;
      const result = await call((api) =>
        api.POST('/v1/portal/transfer', {
          body: { code, ...(pin ? { pin } : {}), toCode: toCode.trim(), ...(toPin ? { toPin } : {}) },
          headers: idempotencyHeader(key),
        }),
      );
      setMessage(
        `Moved ${formatMoney(result.amount, card.currency)}. The card ending ${result.destination.last4} now holds ${formatMoney(result.destination.balance, card.currency)}.`,
      );
    } catch (failure) {
      setMessage(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        Move the balance to another card
      </button>
    );
  }
  return (
    <form onSubmit={submit} className="card-form" aria-labelledby="transfer-heading">
      <h3 id="transfer-heading">Move the balance to another card</h3>
      <label htmlFor="to-code">The other card's code</label>
      <input
        id="to-code"
        autoComplete="off"
        spellCheck={false}
        value={toCode}
        onChange={(e) => setToCode(e.target.value)}
      />
      <PinInput id="to-pin" label="Its PIN (if it has one)" value={toPin} onValue={setToPin} />
      <button type="submit" disabled={busy || toCode.trim() === ''}>
        {busy ? 'Moving…' : 'Move the balance'}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

/** A PIN field: hidden, digits keyboard, never autofilled. */
function PinInput({
  id,
  label,
  value,
  onValue,
}: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
}) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={id}
        type="password"
        inputMode="numeric"
        autoComplete="off"
        value={value}
        onChange={(event) => onValue(event.target.value)}
      />
    </>
  );
}
