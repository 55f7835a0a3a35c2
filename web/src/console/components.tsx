import { type FormEvent, type ReactNode, useState } from 'react';
import { formatMoney } from '../shared/money';
import { navigate } from './router';
import { problemText } from './use-api';

export function Money({ minor, currency }: { minor: number; currency: string }) {
  return <span className="money">{formatMoney(minor, currency)}</span>;
}

export function CardLink({ cardId, children }: { cardId: string; children?: ReactNode }) {
  const path = `/console/cards/${encodeURIComponent(cardId)}`;
  return (
    <a
      href={path}
      onClick={(event) => {
        event.preventDefault();
        navigate(path);
      }}
    >
      {children ?? cardId}
    </a>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {problemText(error)}
    </p>
  );
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

/**
 * An action that changes something: its form (with the reason where one is required), then a
 * confirmation that says exactly what will happen, then the call. Nothing is sent before "Confirm".
 */
export function ActionForm({
  title,
  describe,
  fields,
  valid,
  onConfirm,
  onDone,
  submitLabel,
}: {
  title: string;
  /** The confirmation sentence, from the form's current values. */
  describe: () => string;
  fields: ReactNode;
  valid: boolean;
  onConfirm: () => Promise<unknown>;
  onDone: (result: unknown) => void;
  submitLabel?: string;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const review = (event: FormEvent) => {
    event.preventDefault();
    if (valid) setConfirming(true);
  };
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await onConfirm();
      setConfirming(false);
      onDone(result);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="action" onSubmit={review} aria-label={title}>
      <h3>{title}</h3>
      <fieldset disabled={confirming || busy}>{fields}</fieldset>
      {!confirming && (
        <button type="submit" disabled={!valid}>
          {submitLabel ?? 'Review'}
        </button>
      )}
      {confirming && (
        <fieldset className="confirm" aria-label="Confirmation">
          <p>{describe()}</p>
          <button type="button" onClick={confirm} disabled={busy}>
            Confirm
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)} disabled={busy}>
            Cancel
          </button>
        </fieldset>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

export function Field({ id, label, children }: { id: string; label: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}
