import { type FormEvent, type InputHTMLAttributes, type ReactNode, useState } from 'react';
import { ApiProblem } from '../shared/api';
import type { TransactionView } from '../shared/api-types';
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

/** A labelled text input; `error` (the API's message for this field) is shown under it and announced. */
export function TextField({
  id,
  label,
  value,
  onValue,
  error,
  ...input
}: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  error?: string | undefined;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange'>) {
  return (
    <Field id={id} label={label}>
      <input
        id={id}
        value={value}
        onChange={(event) => onValue(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        {...input}
      />
      {error && (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      )}
    </Field>
  );
}

/** The API's message for each bad field of a refusal (VALIDATION_FAILED), by field name. */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  if (!(error instanceof ApiProblem)) return {};
  return Object.fromEntries(error.fieldErrors.map((f) => [f.field.replace(/^body\./, ''), f.message]));
}

/** A table with a header row of these headings; rows are the children. */
export function Table({
  headings,
  children,
  testId,
  caption,
}: {
  headings: readonly string[];
  children: ReactNode;
  testId?: string;
  caption?: ReactNode;
}) {
  return (
    <div className="scroll">
      <table data-testid={testId}>
        {caption !== undefined && <caption>{caption}</caption>}
        <thead>
          <tr>
            {headings.map((heading) => (
              <th key={heading} scope="col">
                {heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The entries a money action wrote, as the API answered them. */
export function EntriesWritten({
  entries,
}: {
  entries: readonly Pick<
    TransactionView,
    'id' | 'cardId' | 'type' | 'amount' | 'currency' | 'balanceAfter'
  >[];
}) {
  return (
    <Table headings={['Card', 'Entry', 'Type', 'Amount', 'Balance after']} testId="entries-written">
      {entries.map((entry) => (
        <tr key={entry.id}>
          <td>
            <CardLink cardId={entry.cardId} />
          </td>
          <td>
            <code>{entry.id}</code>
          </td>
          <td>{entry.type}</td>
          <td>
            <Money minor={entry.amount} currency={entry.currency} />
          </td>
          <td>
            <Money minor={entry.balanceAfter} currency={entry.currency} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

export const PIN_POLICIES = ['NEVER', 'ALWAYS', 'ONLINE_ONLY'] as const;
export type PinPolicy = (typeof PIN_POLICIES)[number];

/** A program's PIN policy: never, always, or on the ONLINE channel only. */
export function PinPolicySelect({
  id,
  value,
  onValue,
}: {
  id: string;
  value: PinPolicy;
  onValue: (v: PinPolicy) => void;
}) {
  return (
    <Field id={id} label="PIN policy">
      <select id={id} value={value} onChange={(event) => onValue(event.target.value as PinPolicy)}>
        {PIN_POLICIES.map((policy) => (
          <option key={policy}>{policy}</option>
        ))}
      </select>
    </Field>
  );
}
