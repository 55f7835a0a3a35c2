import { type FormEvent, useMemo, useState } from 'react';
import type { Currency, DailyRow } from '../../shared/api-types';
import { formatMoney } from '../../shared/money';
import { ErrorNote, Field, when } from '../components';
import { useChange, useGet } from '../use-api';
import { BreakageSection } from './BreakageSection';

const RANGE_DAYS = 90;
const isoDay = (date: Date) => date.toISOString().slice(0, 10);

export function FinancePage() {
  const programs = useGet('programs', (api, signal) =>
    api.GET('/v1/programs', { params: { query: { limit: 200 } }, signal }),
  );
  const [programId, setProgramId] = useState('');
  const [granularity, setGranularity] = useState<'day' | 'month'>('day');
  const currencies = [...new Set((programs.data?.items ?? []).map((p) => p.currency))].sort();
  const [currencyChoice, setCurrency] = useState('');
  const currency = currencyChoice || currencies[0] || 'USD';
  const to = isoDay(new Date());
  const from = isoDay(new Date(Date.now() - (RANGE_DAYS - 1) * 86_400_000));
  // The currencies listed are the programs', which the API only creates in currencies it takes.
  const query = { from, to, currency: currency as Currency, ...(programId ? { programId } : {}) };
  const key = JSON.stringify(query);
  const daily = useGet(key, (api, signal) => api.GET('/v1/reports/daily', { params: { query }, signal }));
  const summary = useGet(key, (api, signal) => api.GET('/v1/reports/summary', { params: { query }, signal }));
  const rows = (daily.data?.items ?? []).filter((row) => row.currency === currency);
  const buckets = useMemo(() => bucketRows(rows, granularity), [rows, granularity]);
  const reported = summary.data?.items.find((row) => row.currency === currency);

  return (
    <>
      <h1>Finance</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field id="fin-program" label="Program">
          <select id="fin-program" value={programId} onChange={(e) => setProgramId(e.target.value)}>
            <option value="">All programs</option>
            {(programs.data?.items ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="fin-currency" label="Currency">
          <select id="fin-currency" value={currency} onChange={(e) => setCurrency(e.target.value)}>
            {(currencies.length ? currencies : [currency]).map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </Field>
        <Field id="fin-granularity" label="Per">
          <select
            id="fin-granularity"
            value={granularity}
            onChange={(e) => setGranularity(e.target.value as 'day' | 'month')}
          >
            <option value="day">Day</option>
            <option value="month">Month</option>
          </select>
        </Field>
      </form>
      <ErrorNote error={daily.error ?? summary.error} />
      <section aria-labelledby="liability-heading">
        <h2 id="liability-heading">
          Outstanding liability, {from} to {to} (UTC)
        </h2>
        {reported && (
          <p>
            Report total at the end of {to}:{' '}
            <strong data-testid="summary-liability">
              {formatMoney(reported.outstandingLiability, currency)}
            </strong>
          </p>
        )}
        <LiabilityChart rows={rows} currency={currency} />
      </section>
      <BreakageSection programId={programId} currency={currency} />
      <section aria-labelledby="flows-heading">
        <h2 id="flows-heading">Issued, redeemed and expired (breakage) per {granularity}</h2>
        <FlowsChart buckets={buckets} currency={currency} />
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{granularity === 'day' ? 'Day' : 'Month'}</th>
                <th scope="col">Issued</th>
                <th scope="col">Redeemed</th>
                <th scope="col">Expired</th>
                <th scope="col">Liability at end</th>
              </tr>
            </thead>
            <tbody>
              {buckets
                .filter((b) => granularity === 'month' || b.issued || b.redeemed || b.expired)
                .map((b) => (
                  <tr key={b.label}>
                    <td>{b.label}</td>
                    <td>{formatMoney(b.issued, currency)}</td>
                    <td>{formatMoney(b.redeemed, currency)}</td>
                    <td>{formatMoney(b.expired, currency)}</td>
                    <td>{formatMoney(b.liability, currency)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </section>
      <Exports />
    </>
  );
}

interface Bucket {
  label: string;
  issued: number;
  redeemed: number;
  expired: number;
  liability: number;
}

function bucketRows(rows: DailyRow[], granularity: 'day' | 'month'): Bucket[] {
  const buckets = new Map<string, Bucket>();
  for (const row of rows) {
    const label = granularity === 'day' ? row.date : row.date.slice(0, 7);
    const bucket = buckets.get(label) ?? { label, issued: 0, redeemed: 0, expired: 0, liability: 0 };
    bucket.issued += row.issued;
    bucket.redeemed += row.redeemed;
    bucket.expired += row.expired;
    // Rows come in day order: the last day of the bucket gives its closing liability.
    bucket.liability = row.outstandingLiability;
    buckets.set(label, bucket);
  }
  return [...buckets.values()];
}

const WIDTH = 720;
const HEIGHT = 200;
const PAD = 8;

function LiabilityChart({ rows, currency }: { rows: DailyRow[]; currency: string }) {
  if (rows.length === 0) return <p>No data.</p>;
  const values = rows.map((row) => row.outstandingLiability);
  const max = Math.max(1, ...values);
  const min = Math.min(0, ...values);
  const x = (index: number) => PAD + (index * (WIDTH - 2 * PAD)) / Math.max(1, rows.length - 1);
  const y = (value: number) => HEIGHT - PAD - ((value - min) * (HEIGHT - 2 * PAD)) / (max - min || 1);
  const points = values.map((value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
  const last = rows[rows.length - 1];
  return (
    <figure>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Outstanding liability per day; last value ${last ? formatMoney(last.outstandingLiability, currency) : ''}`}
        className="chart"
      >
        <polyline points={points} fill="none" stroke="#0b5cad" strokeWidth="2" />
      </svg>
      <figcaption>
        {rows[0]?.date}: {formatMoney(values[0] ?? 0, currency)} → {last?.date}:{' '}
        <strong data-testid="chart-last-liability">
          {formatMoney(last?.outstandingLiability ?? 0, currency)}
        </strong>
      </figcaption>
    </figure>
  );
}

function FlowsChart({ buckets, currency }: { buckets: Bucket[]; currency: string }) {
  if (buckets.length === 0) return null;
  const max = Math.max(1, ...buckets.flatMap((b) => [b.issued, b.redeemed, b.expired]));
  const slot = (WIDTH - 2 * PAD) / buckets.length;
  const bar = Math.max(1, slot / 3 - 1);
  const h = (value: number) => (value * (HEIGHT - 2 * PAD)) / max;
  const series = [
    ['issued', '#0b5cad'],
    ['redeemed', '#2e7d32'],
    ['expired', '#b3261e'],
  ] as const;
  return (
    <figure>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Issued, redeemed and expired per period, in ${currency}`}
        className="chart"
      >
        {buckets.map((bucket, index) =>
          series.map(([key, color], s) => (
            <rect
              key={`${bucket.label}-${key}`}
              x={PAD + index * slot + s * (bar + 1)}
              y={HEIGHT - PAD - h(bucket[key])}
              width={bar}
              height={h(bucket[key])}
              fill={color}
            />
          )),
        )}
      </svg>
      <figcaption>Blue: issued · green: redeemed · red: expired (breakage)</figcaption>
    </figure>
  );
}

function Exports() {
  const exportsList = useGet('exports', (api, signal) => api.GET('/v1/exports', { signal }));
  const change = useChange();
  const [cutoff, setCutoff] = useState('');
  const [error, setError] = useState<unknown>();
  const start = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const instant = new Date(`${cutoff}Z`);
    if (Number.isNaN(instant.getTime())) return;
    if (!window.confirm(`Start the finance export as of ${instant.toISOString()}?`)) return;
    try {
      await change((api, headers) =>
        api.POST('/v1/exports', { body: { cutoff: instant.toISOString() }, headers }),
      );
      exportsList.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section aria-labelledby="exports-heading">
      <h2 id="exports-heading">Exports</h2>
      <form className="filters" onSubmit={start}>
        <Field id="export-cutoff" label="Cutoff (UTC)">
          <input
            id="export-cutoff"
            type="datetime-local"
            step="1"
            value={cutoff}
            onChange={(e) => setCutoff(e.target.value)}
          />
        </Field>
        <button type="submit" disabled={!cutoff}>
          Start export
        </button>
        <button type="button" className="secondary" onClick={exportsList.reload}>
          Refresh
        </button>
      </form>
      <ErrorNote error={error ?? exportsList.error} />
      <table data-testid="exports">
        <thead>
          <tr>
            <th scope="col">Cutoff</th>
            <th scope="col">Status</th>
            <th scope="col">Files (rows, SHA-256)</th>
          </tr>
        </thead>
        <tbody>
          {(exportsList.data?.items ?? []).map((run) => (
            <tr key={run.id} data-export-id={run.id}>
              <td>{when(run.cutoff)}</td>
              <td className="export-status">{run.status}</td>
              <td>
                <ul>
                  {run.files.map((file) => (
                    <li key={file.name}>
                      <a href={file.url} download className="export-file" data-sha256={file.sha256}>
                        {file.name}
                      </a>{' '}
                      ({file.rows} rows) <code className="sha">{file.sha256}</code>
                    </li>
                  ))}
                </ul>
                {run.error}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
