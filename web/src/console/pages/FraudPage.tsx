import { useState } from 'react';
import type { FraudAlert } from '../../shared/api-types';
import { CardLink, ErrorNote, when } from '../components';
import { useChange, useGet } from '../use-api';

type AlertStatus = FraudAlert['status'];

/** Open fraud alerts, newest first: dismiss (resolve with a note) or block the card and acknowledge. */
export function FraudPage() {
  const [status, setStatus] = useState<AlertStatus>('OPEN');
  const alerts = useGet(`alerts:${status}`, (api, signal) =>
    api.GET('/v1/fraud/alerts', { params: { query: { status, limit: 100 } }, signal }),
  );
  return (
    <section aria-labelledby="fraud-heading">
      <h1 id="fraud-heading">Fraud queue</h1>
      <label htmlFor="fraud-status">Status </label>
      <select id="fraud-status" value={status} onChange={(e) => setStatus(e.target.value as AlertStatus)}>
        <option value="OPEN">Open</option>
        <option value="ACKNOWLEDGED">Acknowledged</option>
        <option value="RESOLVED">Resolved</option>
      </select>
      <ErrorNote error={alerts.error} />
      {alerts.data && alerts.data.items.length === 0 && <p>No alerts.</p>}
      <ul className="alerts">
        {(alerts.data?.items ?? []).map((alert) => (
          <AlertItem key={alert.id} alert={alert} onChanged={alerts.reload} />
        ))}
      </ul>
    </section>
  );
}

function AlertItem({ alert, onChanged }: { alert: FraudAlert; onChanged: () => void }) {
  const change = useChange();
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const act = async (action: 'dismiss' | 'block') => {
    setError(undefined);
    const label = action === 'dismiss' ? 'Dismiss this alert' : 'Block the card and acknowledge this alert';
    if (!window.confirm(`${label}? Note: "${note.trim()}"`)) return;
    try {
      const path = { alertId: alert.id };
      if (action === 'block' && alert.cardId) {
        const cardId = alert.cardId;
        await change((api, headers) =>
          api.POST('/v1/cards/{cardId}/block', {
            params: { path: { cardId } },
            body: { reason: `Fraud alert ${alert.id}: ${note.trim()}` },
            headers,
          }),
        );
        await change((api, headers) =>
          api.POST('/v1/fraud/alerts/{alertId}/acknowledge', {
            params: { path },
            body: { note: note.trim() },
            headers,
          }),
        );
      } else {
        await change((api, headers) =>
          api.POST('/v1/fraud/alerts/{alertId}/resolve', {
            params: { path },
            body: { note: note.trim() },
            headers,
          }),
        );
      }
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  };
  const noteId = `note-${alert.id}`;
  return (
    <li className="alert">
      <h2>
        {alert.rule} <span className="status">{alert.severity}</span>
      </h2>
      <p>{alert.detail}</p>
      <p>
        Card: {alert.cardId ? <CardLink cardId={alert.cardId} /> : '—'} · Merchant: {alert.merchantId ?? '—'}{' '}
        · {alert.block ? 'the rule blocked the card' : 'alert only'} · {when(alert.createdAt)}
      </p>
      {alert.status !== 'RESOLVED' && (
        <div className="triage">
          <label htmlFor={noteId}>Note (required)</label>
          <input id={noteId} value={note} onChange={(e) => setNote(e.target.value)} />
          <button type="button" disabled={!note.trim()} onClick={() => act('dismiss')}>
            Dismiss
          </button>
          {alert.cardId && (
            <button type="button" disabled={!note.trim()} onClick={() => act('block')}>
              Block card
            </button>
          )}
        </div>
      )}
      <ErrorNote error={error} />
    </li>
  );
}
