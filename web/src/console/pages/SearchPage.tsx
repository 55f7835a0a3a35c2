import { type FormEvent, useState } from 'react';
import type { CardView } from '../../shared/api-types';
import { CardLink, ErrorNote, Field, Money, Table, TextField } from '../components';
import { navigate } from '../router';
import { useApi, useGet } from '../use-api';

type SearchKind = 'last4' | 'customerId' | 'cardId' | 'code';

/** Cards per page of results; "More results" asks for the next page with the API's cursor. */
const PAGE = 50;

/** The search's query of GET /v1/cards (the cursor is added per page). */
type CardSearch = { limit: number; last4?: string; programId?: string; customerId?: string };

export function SearchPage() {
  const api = useApi();
  const programs = useGet('programs', (api, signal) =>
    api.GET('/v1/programs', { params: { query: { limit: 200 } }, signal }),
  );
  const [kind, setKind] = useState<SearchKind>('last4');
  const [value, setValue] = useState('');
  const [programId, setProgramId] = useState('');
  const [results, setResults] = useState<CardView[]>();
  const [next, setNext] = useState<{ query: CardSearch; cursor: string } | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // '' searches every program (the last-4 keys of each program's index, store/card-search.ts).
  const program = programId;

  const page = async (query: CardSearch, cursor: string | null, previous: CardView[]) => {
    const paged = { ...query, ...(cursor ? { cursor } : {}) };
    const result = await api((client) => client.GET('/v1/cards', { params: { query: paged } }));
    setResults([...previous, ...result.items]);
    setNext(result.nextCursor ? { query, cursor: result.nextCursor } : null);
  };
  const more = async () => {
    if (!next) return;
    setBusy(true);
    try {
      await page(next.query, next.cursor, results ?? []);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setResults(undefined);
    setNext(null);
    try {
      const text = value.trim();
      if (kind === 'cardId') return navigate(`/console/cards/${encodeURIComponent(text)}`);
      if (kind === 'code') {
        // Through the API's lookup, with its rate limits; the code never goes into a URL.
        const card = await api((client) =>
          client.POST('/v1/cards/lookup', { body: { code: text, channel: 'CONSOLE' } }),
        );
        return navigate(`/console/cards/${card.id}`);
      }
      const query: CardSearch =
        kind === 'last4'
          ? { limit: PAGE, last4: text, ...(program ? { programId: program } : {}) }
          : { limit: PAGE, customerId: text };
      await page(query, null, []);
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
              <option value="">All programs</option>
              {(programs.data?.items ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.currency})
                </option>
              ))}
            </select>
          </Field>
        )}
        <TextField
          id="search-value"
          label={kind === 'code' ? 'Code' : 'Value'}
          type={kind === 'code' ? 'password' : 'text'}
          autoComplete="off"
          value={value}
          onValue={setValue}
        />
        <button type="submit" disabled={busy || value.trim() === ''}>
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      <ErrorNote error={error ?? programs.error} />
      {results && (
        <Table
          headings={['Card', 'Last 4', 'Status', 'Balance', 'Customer']}
          caption={
            results.length === 0 && !next
              ? 'No card matches.'
              : `${results.length} card(s)${next ? ' so far' : ''}`
          }
        >
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
        </Table>
      )}
      {next && (
        <button type="button" className="secondary" onClick={more} disabled={busy}>
          More results
        </button>
      )}
    </section>
  );
}
