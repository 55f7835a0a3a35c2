import { type FormEvent, useState } from 'react';
import { CardLink, ErrorNote, Field, Money } from '../components';
import { navigate } from '../router';
import type { CardView, Page, Program } from '../types';
import { useApi, useGet } from '../use-api';

type SearchKind = 'last4' | 'customerId' | 'cardId' | 'code';

/** Pages read per last-4 search: the filtered listing reads the program's cards a page at a time. */
const MAX_PAGES = 10;

export function SearchPage() {
  const api = useApi();
  const programs = useGet<Page<Program>>('/v1/programs?limit=200');
  const [kind, setKind] = useState<SearchKind>('last4');
  const [value, setValue] = useState('');
  const [programId, setProgramId] = useState('');
  const [results, setResults] = useState<CardView[]>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const program = programId || programs.data?.items[0]?.id || '';

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setResults(undefined);
    try {
      const text = value.trim();
      if (kind === 'cardId') return navigate(`/console/cards/${encodeURIComponent(text)}`);
      if (kind === 'code') {
        // Through the API's lookup, with its rate limits; the code never goes into a URL.
        const card = await api<CardView>('/v1/cards/lookup', { body: { code: text, channel: 'CONSOLE' } });
        return navigate(`/console/cards/${card.id}`);
      }
      const found: CardView[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const query = new URLSearchParams({ limit: '200' });
        if (kind === 'last4') {
          query.set('programId', program);
          query.set('last4', text);
        } else query.set('customerId', text);
        if (cursor) query.set('cursor', cursor);
        const result: Page<CardView> = await api<Page<CardView>>(`/v1/cards?${query}`);
        found.push(...result.items);
        cursor = result.nextCursor;
        if (!cursor || found.length >= 50) break;
      }
      setResults(found);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="search-heading">
      <h1 id="search-heading">Find a card</h1>
      <form className="search" onSubmit={search}>
        <Field id="search-kind" label="Search by">
          <select id="search-kind" value={kind} onChange={(e) => setKind(e.target.value as SearchKind)}>
            <option value="last4">Last 4 of the code</option>
            <option value="customerId">Customer id</option>
            <option value="cardId">Card id</option>
            <option value="code">Full code</option>
          </select>
        </Field>
        {kind === 'last4' && (
          <Field id="search-program" label="Program">
            <select id="search-program" value={program} onChange={(e) => setProgramId(e.target.value)}>
              {(programs.data?.items ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.currency})
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field id="search-value" label={kind === 'code' ? 'Code' : 'Value'}>
          <input
            id="search-value"
            type={kind === 'code' ? 'password' : 'text'}
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </Field>
        <button type="submit" disabled={busy || value.trim() === ''}>
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      <ErrorNote error={error ?? programs.error} />
      {results && (
        <table className="results">
          <caption>{results.length === 0 ? 'No card matches.' : `${results.length} card(s)`}</caption>
          <thead>
            <tr>
              <th scope="col">Card</th>
              <th scope="col">Last 4</th>
              <th scope="col">Status</th>
              <th scope="col">Balance</th>
              <th scope="col">Customer</th>
            </tr>
          </thead>
          <tbody>
            {results.map((card) => (
              <tr key={card.id}>
                <td>
                  <CardLink cardId={card.id} />
                </td>
                <td>{card.last4}</td>
                <td>{card.status}</td>
                <td>
                  <Money minor={card.balance} currency={card.currency} />
                </td>
                <td>{card.customerId ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
