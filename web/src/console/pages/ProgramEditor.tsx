import { type FormEvent, useState } from 'react';
import type { Program } from '../../shared/api-types';
import { minorToDecimal, parseAmount } from '../../shared/money';
import { ErrorNote, Field, fieldErrorsOf, PinPolicySelect, TextField } from '../components';
import { useApi } from '../use-api';

type ExpiryType = Program['expiryPolicy']['type'];
const EXPIRY_TYPES: readonly ExpiryType[] = [
  'NONE',
  'MONTHS_AFTER_ISSUE',
  'MONTHS_AFTER_LAST_LOAD',
  'US_CARD_ACT',
];

const amountText = (minor: number, currency: string) => minorToDecimal(minor, currency);

/**
 * An admin changes a program's rules (PATCH /v1/programs/{id}): they apply to new cards and later loads.
 * Each field the API refuses shows the API's message under it; amounts the browser cannot read are
 * refused here first, so nothing is sent.
 */
export function ProgramEditor({ program, onSaved }: { program: Program; onSaved: () => void }) {
  const api = useApi();
  const policy = program.expiryPolicy;
  const [name, setName] = useState(program.name);
  const [pinPolicy, setPinPolicy] = useState(program.pinPolicy);
  const [minLoad, setMinLoad] = useState(amountText(program.minLoad, program.currency));
  const [maxLoad, setMaxLoad] = useState(amountText(program.maxLoad, program.currency));
  const [maxBalance, setMaxBalance] = useState(amountText(program.maxBalance, program.currency));
  const [expiryType, setExpiryType] = useState<ExpiryType>(policy.type);
  const [months, setMonths] = useState('months' in policy ? String(policy.months) : '');
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>();
  const [saved, setSaved] = useState(false);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    setFailure(undefined);
    const amounts = { minLoad, maxLoad, maxBalance };
    const parsed: { minLoad?: number; maxLoad?: number; maxBalance?: number } = {};
    const local: Record<string, string> = {};
    for (const [field, text] of Object.entries(amounts)) {
      if (text.trim() === '') continue;
      const minor = parseAmount(text, program.currency);
      if (minor === undefined) local[field] = `an amount in ${program.currency}, such as 25.00`;
      else parsed[field as keyof typeof parsed] = minor;
    }
    const monthsValue = Number(months);
    const needsMonths = expiryType === 'MONTHS_AFTER_ISSUE' || expiryType === 'MONTHS_AFTER_LAST_LOAD';
    if (needsMonths && !(Number.isInteger(monthsValue) && monthsValue > 0)) {
      local['expiryPolicy.months'] = 'a whole number of months';
    }
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    try {
      const expiryPolicy =
        expiryType === 'MONTHS_AFTER_ISSUE' || expiryType === 'MONTHS_AFTER_LAST_LOAD'
          ? { type: expiryType, months: monthsValue }
          : { type: expiryType };
      await api((client) =>
        client.PATCH('/v1/programs/{programId}', {
          params: { path: { programId: program.id } },
          body: {
            name: name.trim(),
            pinPolicy,
            ...parsed,
            expiryPolicy,
            ...(reason.trim() ? { reason: reason.trim() } : {}),
          },
        }),
      );
      setSaved(true);
      onSaved();
    } catch (refusal) {
      const byField = fieldErrorsOf(refusal);
      setErrors(byField);
      if (Object.keys(byField).length === 0) setFailure(refusal);
    }
  };

  const amountField = (
    id: 'minLoad' | 'maxLoad' | 'maxBalance',
    label: string,
    value: string,
    set: (v: string) => void,
  ) => (
    <TextField
      id={`prg-edit-${id}`}
      label={`${label} (${program.currency})`}
      inputMode="decimal"
      value={value}
      onValue={set}
      error={errors[id]}
    />
  );
  return (
    <form className="action" onSubmit={save} aria-label={`Rules of ${program.name}`} noValidate>
      <h3>Rules of {program.name}</h3>
      <TextField id="prg-edit-name" label="Name" value={name} onValue={setName} error={errors.name} />
      <PinPolicySelect id="prg-edit-pin" value={pinPolicy} onValue={setPinPolicy} />
      {amountField('minLoad', 'Smallest load', minLoad, setMinLoad)}
      {amountField('maxLoad', 'Largest load', maxLoad, setMaxLoad)}
      {amountField('maxBalance', 'Largest balance', maxBalance, setMaxBalance)}
      <Field id="prg-edit-expiry" label="Expiry policy">
        <select
          id="prg-edit-expiry"
          value={expiryType}
          onChange={(e) => setExpiryType(e.target.value as ExpiryType)}
        >
          {EXPIRY_TYPES.map((type) => (
            <option key={type}>{type}</option>
          ))}
        </select>
      </Field>
      {(expiryType === 'MONTHS_AFTER_ISSUE' || expiryType === 'MONTHS_AFTER_LAST_LOAD') && (
        <TextField
          id="prg-edit-months"
          label="Months"
          inputMode="numeric"
          value={months}
          onValue={setMonths}
          error={errors['expiryPolicy.months'] ?? errors.expiryPolicy}
        />
      )}
      <TextField
        id="prg-edit-reason"
        label="Why (kept on the audit record)"
        value={reason}
        onValue={setReason}
        error={errors.reason}
      />
      <button type="submit">Save rules</button>
      {saved && (
        <p role="status" className="notice">
          Saved: the rules apply to new cards and later loads.
        </p>
      )}
      <ErrorNote error={failure} />
    </form>
  );
}
