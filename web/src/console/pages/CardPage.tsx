import { useState } from 'react';
import { minorToDecimal, parseAmount } from '../../shared/money';
import { may } from '../auth';
import { ActionForm, ErrorNote, Field, Money, when } from '../components';
import { useSession } from '../session';
import type { CardView, FraudAlert, Page, TransactionView } from '../types';
import { useApi, useChange, useGet } from '../use-api';

const LEDGER_PAGE = 25;

interface PinState {
  set: boolean;
  failures: number;
  maxFailures: number;
  locked: boolean;
}
interface WalletRegistrations {
  apple: { passIssued: boolean; devices: number };
  google: { objectSaved: boolean };
}

/**
 * One card for customer care. The card and the first ledger page (and the PIN state, wallet passes and
 * fraud alerts) are requested together as the page opens: its data shows after one API round trip.
 */
export function CardPage({ cardId }: { cardId: string }) {
  const session = useSession();
  const base = `/v1/cards/${encodeURIComponent(cardId)}`;
  const card = useGet<CardView>(base);
  const ledger = useGet<Page<TransactionView>>(`${base}/transactions?limit=${LEDGER_PAGE}`);
  const pin = useGet<PinState>(`${base}/pin`);
  const wallet = useGet<WalletRegistrations>(`${base}/wallet/registrations`);
  const alerts = useGet<Page<FraudAlert>>(
    may.fraud(session) ? `/v1/fraud/alerts?cardId=${encodeURIComponent(cardId)}&limit=50` : undefined,
  );
  const reloadAll = () => {
    card.reload();
    ledger.reload();
    pin.reload();
    alerts.reload();
  };

  if (card.error) return <ErrorNote error={card.error} />;
  if (!card.data) return <p aria-live="polite">Loading the card…</p>;
  const c = card.data;
  const held = c.balance - c.available;
  return (
    <>
      <h1>
        Card •••• {c.last4} <span className={`status status-${c.status.toLowerCase()}`}>{c.status}</span>
      </h1>
      <section aria-labelledby="profile-heading" className="grid">
        <h2 id="profile-heading" className="visually-hidden">
          Profile
        </h2>
        <dl className="facts" data-testid="card-facts">
          <dt>Balance</dt>
          <dd data-testid="card-balance">
            <Money minor={c.balance} currency={c.currency} />
          </dd>
          <dt>Available</dt>
          <dd data-testid="card-available">
            <Money minor={c.available} currency={c.currency} />
          </dd>
          <dt>On hold</dt>
          <dd>
            <Money minor={held} currency={c.currency} />
          </dd>
          <dt>Card id</dt>
          <dd>
            <code>{c.id}</code>
          </dd>
          <dt>Program</dt>
          <dd>{c.programId}</dd>
          <dt>Type</dt>
          <dd>{c.type}</dd>
          <dt>Customer</dt>
          <dd>{c.customerId ?? '—'}</dd>
          <dt>Issued</dt>
          <dd>{when(c.createdAt)}</dd>
          <dt>Expires</dt>
          <dd>{when(c.expiresAt)}</dd>
          {c.statusReason && (
            <>
              <dt>Status reason</dt>
              <dd>{c.statusReason}</dd>
            </>
          )}
          <dt>PIN</dt>
          <dd data-testid="pin-state">
            {pin.data
              ? pin.data.locked
                ? 'Locked'
                : pin.data.set
                  ? `Set (${pin.data.failures} of ${pin.data.maxFailures} wrong attempts)`
                  : 'Not set'
              : '…'}
          </dd>
          <dt>Wallet passes</dt>
          <dd>
            {wallet.data
              ? `Apple: ${wallet.data.apple.passIssued ? `pass issued, ${wallet.data.apple.devices} device(s)` : 'none'}; Google: ${wallet.data.google.objectSaved ? 'saved' : 'none'}`
              : '…'}
          </dd>
        </dl>
        {alerts.data && alerts.data.items.length > 0 && (
          <div>
            <h2>Fraud alerts</h2>
            <ul>
              {alerts.data.items.map((alert) => (
                <li key={alert.id}>
                  {alert.rule} ({alert.status}): {alert.detail}
                </li>
              ))}
            </ul>
          </div>
        )}
      </section>
      <Ledger base={base} first={ledger} currency={c.currency} />
      {may.act(session) && <CardActions card={c} onChanged={reloadAll} />}
    </>
  );
}

function Ledger({
  base,
  first,
  currency,
}: {
  base: string;
  first: { data: Page<TransactionView> | undefined; error: unknown };
  currency: string;
}) {
  const api = useApi();
  const [more, setMore] = useState<{ items: TransactionView[]; cursor: string | null }>();
  const [error, setError] = useState<unknown>();
  const items = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const cursor = more ? more.cursor : (first.data?.nextCursor ?? null);
  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await api<Page<TransactionView>>(
        `${base}/transactions?limit=${LEDGER_PAGE}&cursor=${encodeURIComponent(cursor)}`,
      );
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (failure) {
      setError(failure);
    }
  };
  const holds = items.filter((entry) => entry.type === 'HOLD');
  return (
    <section aria-labelledby="ledger-heading">
      <h2 id="ledger-heading">Ledger</h2>
      <ErrorNote error={first.error ?? error} />
      <div className="scroll">
        <table data-testid="ledger">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Type</th>
              <th scope="col">Amount</th>
              <th scope="col">Balance after</th>
              <th scope="col">Channel</th>
              <th scope="col">Store / terminal</th>
              <th scope="col">By</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => (
              <tr key={entry.id}>
                <td>{when(entry.createdAt)}</td>
                <td>{entry.type}</td>
                <td>
                  <Money minor={entry.amount} currency={currency} />
                </td>
                <td>
                  <Money minor={entry.balanceAfter} currency={currency} />
                </td>
                <td>{entry.channel}</td>
                <td>{[entry.locationId, entry.terminalId].filter(Boolean).join(' / ') || '—'}</td>
                <td>
                  {entry.actor.type} {entry.actor.id}
                </td>
                <td>{entry.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor && (
        <button type="button" className="secondary" onClick={loadMore}>
          Older entries
        </button>
      )}
      {holds.length > 0 && (
        <p>
          Holds on this page: {holds.length} (the amount still held is balance minus available, shown above).
        </p>
      )}
    </section>
  );
}

type ActionKind = 'adjust' | 'block' | 'unblock' | 'pin-reset' | 'deactivate' | 'cash-out' | 'reissue';

const ACTIONS: { kind: ActionKind; label: string; allowed: (card: CardView) => boolean }[] = [
  { kind: 'adjust', label: 'Adjust', allowed: (c) => c.status !== 'DEACTIVATED' },
  { kind: 'block', label: 'Block', allowed: (c) => c.status === 'ACTIVE' },
  { kind: 'unblock', label: 'Unblock', allowed: (c) => c.status === 'BLOCKED' },
  { kind: 'pin-reset', label: 'Reset PIN', allowed: (c) => c.status !== 'DEACTIVATED' },
  { kind: 'cash-out', label: 'Cash out', allowed: (c) => c.status === 'ACTIVE' && c.balance > 0 },
  { kind: 'reissue', label: 'Reissue', allowed: (c) => c.status === 'ACTIVE' || c.status === 'BLOCKED' },
  { kind: 'deactivate', label: 'Deactivate', allowed: (c) => c.status !== 'DEACTIVATED' },
];

function CardActions({ card, onChanged }: { card: CardView; onChanged: () => void }) {
  const [kind, setKind] = useState<ActionKind>();
  const [notice, setNotice] = useState<string>();
  return (
    <section aria-labelledby="actions-heading">
      <h2 id="actions-heading">Actions</h2>
      <div className="buttons">
        {ACTIONS.filter((action) => action.allowed(card)).map((action) => (
          <button
            key={action.kind}
            type="button"
            className={kind === action.kind ? '' : 'secondary'}
            aria-pressed={kind === action.kind}
            onClick={() => {
              setKind(action.kind);
              setNotice(undefined);
            }}
          >
            {action.label}
          </button>
        ))}
      </div>
      {notice && (
        <p role="status" className="notice" data-testid="action-notice">
          {notice}
        </p>
      )}
      {kind && (
        <CardAction
          key={kind}
          kind={kind}
          card={card}
          onDone={(message) => {
            setKind(undefined);
            setNotice(message);
            onChanged();
          }}
        />
      )}
    </section>
  );
}

function CardAction({
  kind,
  card,
  onDone,
}: {
  kind: ActionKind;
  card: CardView;
  onDone: (message: string) => void;
}) {
  const change = useChange();
  const [reason, setReason] = useState('');
  const [amountText, setAmountText] = useState('');
  const base = `/v1/cards/${card.id}`;
  const amount = kind === 'adjust' ? parseAmount(amountText, card.currency, { signed: true }) : undefined;
  const valid = reason.trim().length > 0 && (kind !== 'adjust' || (amount !== undefined && amount !== 0));
  const money = (minor: number) => `${minorToDecimal(minor, card.currency)} ${card.currency}`;

  const fields = (
    <>
      {kind === 'adjust' && (
        <Field id="action-amount" label={`Amount in ${card.currency} (negative to take value off)`}>
          <input
            id="action-amount"
            inputMode="decimal"
            value={amountText}
            onChange={(e) => setAmountText(e.target.value)}
          />
        </Field>
      )}
      <Field id="action-reason" label="Reason (required, kept on the ledger)">
        <input
          id="action-reason"
          value={reason}
          maxLength={500}
          onChange={(e) => setReason(e.target.value)}
        />
      </Field>
    </>
  );

  const plans: Record<ActionKind, { title: string; describe: () => string; run: () => Promise<string> }> = {
    adjust: {
      title: 'Adjust the balance',
      describe: () => `Adjust the card by ${money(amount ?? 0)} because "${reason.trim()}".`,
      run: async () => {
        await change(`${base}/adjust`, { amount, reason: reason.trim() });
        return `Adjusted by ${money(amount ?? 0)}.`;
      },
    },
    block: {
      title: 'Block the card',
      describe: () => `Block the card: no spending until it is unblocked. Reason: "${reason.trim()}".`,
      run: async () => {
        await change(`${base}/block`, { reason: reason.trim() });
        return 'The card is blocked.';
      },
    },
    unblock: {
      title: 'Unblock the card',
      describe: () => `Unblock the card. Reason: "${reason.trim()}".`,
      run: async () => {
        await change(`${base}/unblock`, { reason: reason.trim() });
        return 'The card is active again.';
      },
    },
    'pin-reset': {
      title: 'Reset the PIN',
      describe: () => `Clear the PIN and its lock; the holder sets a new one. Reason: "${reason.trim()}".`,
      run: async () => {
        await change(`${base}/pin/reset`, { reason: reason.trim() });
        return 'The PIN was reset.';
      },
    },
    deactivate: {
      title: 'Deactivate the card for good',
      describe: () => `Deactivate the card. This cannot be undone. Reason: "${reason.trim()}".`,
      run: async () => {
        await change(`${base}/deactivate`, { reason: reason.trim() });
        return 'The card is deactivated.';
      },
    },
    'cash-out': {
      title: 'Cash out the balance',
      describe: () =>
        `Clear the balance of ${money(card.balance)} (paid out in cash). Reason: "${reason.trim()}".`,
      run: async () => {
        await change(`${base}/cash-out`, { reason: reason.trim() });
        return 'The balance was cashed out.';
      },
    },
    reissue: {
      title: 'Reissue: a new card with this balance',
      describe: () =>
        `Issue a new ${card.type.toLowerCase()} card, block this one if active, and move its ${money(card.available)} to the new card. Reason: "${reason.trim()}".`,
      run: () => reissue(change, card, reason.trim()),
    },
  };
  const plan = plans[kind];
  return (
    <ActionForm
      title={plan.title}
      describe={plan.describe}
      fields={fields}
      valid={valid}
      onConfirm={plan.run}
      onDone={(message) => onDone(String(message))}
    />
  );
}

/** A new card of the same program and customer, the old one blocked, its available value moved across. */
async function reissue(
  change: ReturnType<typeof useChange>,
  card: CardView,
  reason: string,
): Promise<string> {
  const issued = await change<{ card: CardView; code: string }>('/v1/cards', {
    programId: card.programId,
    type: card.type,
    activate: true,
    ...(card.customerId ? { customer: { id: card.customerId } } : {}),
    metadata: { reissuedFrom: card.id },
  });
  if (card.status === 'ACTIVE') {
    await change(`/v1/cards/${card.id}/block`, { reason: `Reissued as ${issued.card.id}: ${reason}` });
  }
  if (card.available > 0) {
    await change(`/v1/cards/${card.id}/transfer`, { toCardId: issued.card.id, channel: 'CONSOLE' });
  }
  return `New card ${issued.card.id} (•••• ${issued.card.last4}). Give the holder its code now; it is shown only once: ${issued.code}`;
}
