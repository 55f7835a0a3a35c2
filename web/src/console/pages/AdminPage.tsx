import { type FormEvent, useState } from 'react';
import type { Currency, Merchant, Program } from '../../shared/api-types';
import { formatMoney } from '../../shared/money';
import { ErrorNote, Field, type PinPolicy, PinPolicySelect, Table, TextField, when } from '../components';
import { useApi, useChange, useGet } from '../use-api';
import { ProgramEditor } from './ProgramEditor';

export function AdminPage() {
  const [tab, setTab] = useState<'programs' | 'merchants'>('merchants');
  return (
    <>
      <h1>Admin</h1>
      <div className="buttons" role="tablist" aria-label="Admin sections">
        {(['merchants', 'programs'] as const).map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            className={tab === name ? '' : 'secondary'}
            onClick={() => setTab(name)}
          >
            {name === 'merchants' ? 'Merchants, API keys, webhooks' : 'Programs'}
          </button>
        ))}
      </div>
      <div role="tabpanel">{tab === 'programs' ? <Programs /> : <Merchants />}</div>
    </>
  );
}

function describeExpiry(policy: Program['expiryPolicy']): string {
  return 'months' in policy ? `${policy.type} (${policy.months} months)` : policy.type;
}

function Programs() {
  const programs = useGet('programs', (api, signal) =>
    api.GET('/v1/programs', { params: { query: { limit: 200 } }, signal }),
  );
  const change = useChange();
  const [name, setName] = useState('');
  const [currency, setCurrency] = useState('USD');
  const [pinPolicy, setPinPolicy] = useState<PinPolicy>('NEVER');
  const [error, setError] = useState<unknown>();
  const [editing, setEditing] = useState<string>();
  const edited = programs.data?.items.find((p) => p.id === editing);
  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    if (!window.confirm(`Create the program "${name.trim()}" in ${currency}?`)) return;
    try {
      await change((api, headers) =>
        api.POST('/v1/programs', {
          // The API refuses (field by field) a currency it does not take.
          body: { name: name.trim(), currency: currency as Currency, pinPolicy },
          headers,
        }),
      );
      setName('');
      programs.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section aria-labelledby="programs-heading">
      <h2 id="programs-heading">Programs</h2>
      <ErrorNote error={programs.error} />
      <Table
        headings={['Name', 'Currency', 'Loads', 'Max balance', 'Expiry', 'PIN', 'Rules']}
        testId="programs"
      >
        {(programs.data?.items ?? []).map((p) => (
          <tr key={p.id}>
            <td>
              {p.name} <code>{p.id}</code>
            </td>
            <td>{p.currency}</td>
            <td>
              {typeof p.minLoad === 'number' ? formatMoney(p.minLoad, p.currency) : '—'} –{' '}
              {typeof p.maxLoad === 'number' ? formatMoney(p.maxLoad, p.currency) : '—'}
            </td>
            <td>{typeof p.maxBalance === 'number' ? formatMoney(p.maxBalance, p.currency) : '—'}</td>
            <td>{describeExpiry(p.expiryPolicy)}</td>
            <td>{p.pinPolicy ?? '—'}</td>
            <td>
              <button
                type="button"
                className="secondary"
                aria-pressed={editing === p.id}
                onClick={() => setEditing(editing === p.id ? undefined : p.id)}
              >
                Edit {p.name}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      {edited && <ProgramEditor key={edited.id} program={edited} onSaved={programs.reload} />}
      <form className="filters" onSubmit={create} aria-label="New program">
        <TextField id="prg-name" label="New program name" value={name} onValue={setName} />
        <TextField id="prg-currency" label="Currency" value={currency} maxLength={3} onValue={setCurrency} />
        <PinPolicySelect id="prg-pin" value={pinPolicy} onValue={setPinPolicy} />
        <button type="submit" disabled={!name.trim()}>
          Create program
        </button>
      </form>
      <ErrorNote error={error} />
    </section>
  );
}

function Merchants() {
  const merchants = useGet('merchants', (api, signal) =>
    api.GET('/v1/merchants', { params: { query: { limit: 200 } }, signal }),
  );
  const [selected, setSelected] = useState<string>();
  const merchant = merchants.data?.items.find((m) => m.id === selected) ?? merchants.data?.items[0];
  return (
    <section aria-labelledby="merchants-heading">
      <h2 id="merchants-heading">Merchants</h2>
      <ErrorNote error={merchants.error} />
      <Field id="merchant-pick" label="Merchant">
        <select id="merchant-pick" value={merchant?.id ?? ''} onChange={(e) => setSelected(e.target.value)}>
          {(merchants.data?.items ?? []).map((m) => (
            <option key={m.id} value={m.id}>
              {m.name} ({m.usagePlan ?? 'standard'})
            </option>
          ))}
        </select>
      </Field>
      {merchant && <ApiKeys key={`keys-${merchant.id}`} merchant={merchant} />}
      {merchant && <Webhooks key={`hooks-${merchant.id}`} merchant={merchant} />}
    </section>
  );
}

function ApiKeys({ merchant }: { merchant: Merchant }) {
  const path = { merchantId: merchant.id };
  const keys = useGet(`api-keys:${merchant.id}`, (api, signal) =>
    api.GET('/v1/merchants/{merchantId}/api-keys', { params: { path, query: { limit: 200 } }, signal }),
  );
  const api = useApi();
  const change = useChange();
  const [description, setDescription] = useState('');
  const [shown, setShown] = useState<{ id: string; apiKey: string }>();
  const [error, setError] = useState<unknown>();
  const run = async (label: string, action: () => Promise<{ id: string; apiKey?: string }>) => {
    setError(undefined);
    if (!window.confirm(label)) return;
    try {
      const result = await action();
      setShown(result.apiKey ? { id: result.id, apiKey: result.apiKey } : undefined);
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <div>
      <h3>API keys of {merchant.name}</h3>
      {shown && (
        <div className="once" role="status" data-testid="new-api-key">
          <p>
            New key <code>{shown.id}</code>. Copy it now: it is shown only once.
          </p>
          <code className="secret">{shown.apiKey}</code>
          <button type="button" className="secondary" onClick={() => setShown(undefined)}>
            I have copied it
          </button>
        </div>
      )}
      <ErrorNote error={keys.error ?? error} />
      <Table testId="api-keys" headings={['Key', 'Scopes', 'Created', 'Last use', 'State', 'Actions']}>
        {(keys.data?.items ?? []).map((key) => {
          const state = key.revokedAt
            ? 'revoked'
            : key.expiresAt
              ? `rotated, works until ${when(key.expiresAt)}`
              : 'active';
          return (
            <tr key={key.id} data-key-id={key.id}>
              <td>
                <code>{key.id}</code> {key.description ?? ''}
              </td>
              <td>{key.scopes.join(', ')}</td>
              <td>{when(key.createdAt)}</td>
              <td>{when(key.lastUsedAt)}</td>
              <td className="key-state">{state}</td>
              <td>
                {!key.revokedAt && !key.expiresAt && (
                  <button
                    type="button"
                    className="secondary"
                    onClick={() =>
                      run(`Rotate key ${key.id}? The old key keeps working for one day.`, () =>
                        change((client, headers) =>
                          client.POST('/v1/merchants/{merchantId}/api-keys/{keyId}/rotate', {
                            params: { path: { ...path, keyId: key.id } },
                            body: { reason: 'rotated in the console' },
                            headers,
                          }),
                        ),
                      )
                    }
                  >
                    Rotate
                  </button>
                )}
                {!key.revokedAt && (
                  <button
                    type="button"
                    className="secondary"
                    onClick={() =>
                      run(`Revoke key ${key.id} now? Requests with it fail at once.`, () =>
                        api((client) =>
                          client.DELETE('/v1/merchants/{merchantId}/api-keys/{keyId}', {
                            params: {
                              path: { ...path, keyId: key.id },
                              query: { reason: 'revoked in the console' },
                            },
                          }),
                        ),
                      )
                    }
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
      <form
        className="filters"
        aria-label="New API key"
        onSubmit={(event) => {
          event.preventDefault();
          run(`Create a new API key for ${merchant.name}?`, () =>
            change((client, headers) =>
              client.POST('/v1/merchants/{merchantId}/api-keys', {
                params: { path },
                body: {
                  ...(description.trim() ? { description: description.trim() } : {}),
                  reason: 'created in the console',
                },
                headers,
              }),
            ),
          );
        }}
      >
        <TextField
          id="key-description"
          label="Description of a new key"
          value={description}
          onValue={setDescription}
        />
        <button type="submit">Create key</button>
      </form>
    </div>
  );
}

function Webhooks({ merchant }: { merchant: Merchant }) {
  const hooks = useGet(`webhooks:${merchant.id}`, (api, signal) =>
    api.GET('/v1/webhooks', { params: { query: { merchantId: merchant.id, limit: 100 } }, signal }),
  );
  const [open, setOpen] = useState<string>();
  return (
    <div>
      <h3>Webhook endpoints of {merchant.name}</h3>
      <ErrorNote error={hooks.error} />
      {hooks.data && hooks.data.items.length === 0 && <p>No endpoints.</p>}
      <ul>
        {(hooks.data?.items ?? []).map((hook) => (
          <li key={hook.id}>
            <code>{hook.url}</code> ({hook.events.join(', ')}){' '}
            <button
              type="button"
              className="secondary"
              onClick={() => setOpen(open === hook.id ? undefined : hook.id)}
            >
              {open === hook.id ? 'Hide deliveries' : 'Deliveries'}
            </button>
            {open === hook.id && <Deliveries webhookId={hook.id} />}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Deliveries({ webhookId }: { webhookId: string }) {
  const deliveries = useGet(`deliveries:${webhookId}`, (api, signal) =>
    api.GET('/v1/webhooks/{webhookId}/deliveries', {
      params: { path: { webhookId }, query: { limit: 50 } },
      signal,
    }),
  );
  const api = useApi();
  const [error, setError] = useState<unknown>();
  const redrive = async (id: string) => {
    setError(undefined);
    try {
      await api((client) =>
        client.POST('/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry', {
          params: { path: { webhookId, deliveryId: id } },
          body: {},
        }),
      );
      deliveries.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <div>
      <ErrorNote error={deliveries.error ?? error} />
      <Table headings={['Event', 'Status', 'Attempts', 'Last answer', 'Created', 'Redrive']}>
        {(deliveries.data?.items ?? []).map((d) => (
          <tr key={d.id}>
            <td>{d.eventType}</td>
            <td>{d.status}</td>
            <td>{d.attempts}</td>
            <td>{d.lastStatusCode ?? d.lastError ?? '—'}</td>
            <td>{when(d.createdAt)}</td>
            <td>
              {d.status !== 'DELIVERED' && (
                <button type="button" className="secondary" onClick={() => redrive(d.id)}>
                  Redrive
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </div>
  );
}
