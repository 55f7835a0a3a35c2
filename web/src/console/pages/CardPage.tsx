import { useState } from 'react';
import type { Api, Sent } from '../../shared/api';
import type { CardChange, CardView, HoldView, TransactionView } from '../../shared/api-types';
import { minorToDecimal, parseAmount } from '../../shared/money';
import { may } from '../auth';
import {
  ActionForm,
  CardLink,
  EntriesWritten,
  ErrorNote,
  Money,
  Table,
  TextField,
  when,
} from '../components';
import { useSession } from '../session';
import { useApi, useChange, useGet } from '../use-api';

const LEDGER_PAGE = 25;

/**
 * One card for customer care. The card and the first ledger page (and the PIN state, wallet passes and
 * fraud alerts) are requested together as the page opens: its data shows after one API round trip.
 */
export function CardPage({ cardId }: { cardId: string }) {
  const session = useSession();
  const path = { cardId };
  const page = { limit: LEDGER_PAGE };
  const card = useGet(cardId, (api, signal) => api.GET('/v1/cards/{cardId}', { params: { path }, signal }));
  const ledger = useGet(cardId, (api, signal) =>
    api.GET('/v1/cards/{cardId}/transactions', { params: { path, query: page }, signal }),
  );
  const pin = useGet(cardId, (api, signal) =>
    api.GET('/v1/cards/{cardId}/pin', { params: { path }, signal }),
  );
  const wallet = useGet(cardId, (api, signal) =>
    api.GET('/v1/cards/{cardId}/wallet/registrations', { params: { path }, signal }),
  );
  const holds = useGet(cardId, (api, signal) =>
    api.GET('/v1/cards/{cardId}/holds', { params: { path, query: page }, signal }),
  );
  const alerts = useGet(may.fraud(session) ? cardId : undefined, (api, signal) =>
    api.GET('/v1/fraud/alerts', { params: { query: { cardId, limit: 50 } }, signal }),
  );
  const reloadAll = () => {
    card.reload();
    ledger.reload();
    pin.reload();
    alerts.reload();
    holds.reload();
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
      <Holds holds={holds} currency={c.currency} />
      <Ledger cardId={c.id} first={ledger} currency={c.currency} />
      {may.act(session) && <CardActions card={c} onChanged={reloadAll} />}
    </>
  );
}

function Ledger({
  cardId,
  first,
  currency,
}: {
  cardId: string;
  first: { data: { items: TransactionView[]; nextCursor: string | null } | undefined; error: unknown };
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
      const page = await api((client) =>
        client.GET('/v1/cards/{cardId}/transactions', {
          params: { path: { cardId }, query: { limit: LEDGER_PAGE, cursor } },
        }),
      );
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section aria-labelledby="ledger-heading">
      <h2 id="ledger-heading">Ledger</h2>
      <ErrorNote error={first.error ?? error} />
      <Table
        testId="ledger"
        headings={['When', 'Type', 'Amount', 'Balance after', 'Channel', 'Store / terminal', 'By', 'Reason']}
      >
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
      </Table>
      {cursor && (
        <button type="button" className="secondary" onClick={loadMore}>
          Older entries
        </button>
      )}
    </section>
  );
}

/** The card's open holds, from the API's hold list (a page; the amount held in total is shown above). */
function Holds({
  holds,
  currency,
}: {
  holds: { data: { items: HoldView[]; nextCursor: string | null } | undefined; error: unknown };
  currency: string;
}) {
  return (
    <section aria-labelledby="holds-heading">
      <h2 id="holds-heading">Open holds</h2>
      <ErrorNote error={holds.error} />
      {holds.data && holds.data.items.length === 0 && <p>No open holds.</p>}
      {holds.data && holds.data.items.length > 0 && (
        <Table testId="holds" headings={['Hold', 'Amount', 'Placed', 'Expires', 'Reference']}>
          {holds.data.items.map((hold) => (
            <tr key={hold.id}>
              <td>
                <code>{hold.id}</code>
              </td>
              <td>
                <Money minor={hold.amount} currency={currency} />
              </td>
              <td>{when(hold.createdAt)}</td>
              <td>{when(hold.expiresAt)}</td>
              <td>{hold.reference ?? '—'}</td>
            </tr>
          ))}
        </Table>
      )}
      {holds.data?.nextCursor && <p>More holds than shown here.</p>}
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

/** What an action did: a sentence, the entries it wrote, and for a reissue the new card and its code. */
interface ActionOutcome {
  message: string;
  entries: TransactionView[];
  replacement?: { card: CardView; code: string };
}

function CardActions({ card, onChanged }: { card: CardView; onChanged: () => void }) {
  const [kind, setKind] = useState<ActionKind>();
  const [outcome, setOutcome] = useState<ActionOutcome>();
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
              setOutcome(undefined);
            }}
          >
            {action.label}
          </button>
        ))}
      </div>
      {outcome && (
        <div role="status" className="notice" data-testid="action-notice">
          <p>{outcome.message}</p>
          {outcome.replacement && (
            <p className="once">
              New card <CardLink cardId={outcome.replacement.card.id} /> (••••{' '}
              {outcome.replacement.card.last4}). Give the holder its code now; it is shown only once:{' '}
              <code className="secret" data-testid="new-card-code">
                {outcome.replacement.code}
              </code>
            </p>
          )}
          <EntriesWritten entries={outcome.entries} />
        </div>
      )}
      {kind && (
        <CardAction
          key={kind}
          kind={kind}
          card={card}
          onDone={(done) => {
            setKind(undefined);
            setOutcome(done);
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
  onDone: (outcome: ActionOutcome) => void;
}) {
  const change = useChange();
  const [reason, setReason] = useState('');
  const [amountText, setAmountText] = useState('');
  const path = { cardId: card.id };
  const amount = kind === 'adjust' ? parseAmount(amountText, card.currency, { signed: true }) : undefined;
  const valid = reason.trim().length > 0 && (kind !== 'adjust' || (amount !== undefined && amount !== 0));
  const money = (minor: number) => `${minorToDecimal(minor, card.currency)} ${card.currency}`;
  const why = reason.trim();
  /** One card verb: its entry is what the API answered. */
  const verb =
    (send: (api: Api, headers: { 'Idempotency-Key': string }) => Sent<CardChange>, message: string) =>
    async (): Promise<ActionOutcome> => {
      const done = await change(send);
      return { message, entries: [done.transaction] };
    };

  const fields = (
    <>
      {kind === 'adjust' && (
        <TextField
          id="action-amount"
          label={`Amount in ${card.currency} (negative to take value off)`}
          inputMode="decimal"
          value={amountText}
          onValue={setAmountText}
        />
      )}
      <TextField
        id="action-reason"
        label="Reason (required, kept on the ledger)"
        value={reason}
        maxLength={500}
        onValue={setReason}
      />
    </>
  );

  const plans: Record<ActionKind, { title: string; describe: string; run: () => Promise<ActionOutcome> }> = {
    adjust: {
      title: 'Adjust the balance',
      describe: `Adjust the card by ${money(amount ?? 0)} because "${why}".`,
      run: verb(
        (api, headers) =>
          api.POST('/v1/cards/{cardId}/adjust', {
            params: { path },
            body: { amount: amount ?? 0, reason: why },
            headers,
          }),
        `Adjusted by ${money(amount ?? 0)}.`,
      ),
    },
    block: {
      title: 'Block the card',
      describe: `Block the card: no spending until it is unblocked. Reason: "${why}".`,
      run: verb(
        (api, headers) =>
          api.POST('/v1/cards/{cardId}/block', { params: { path }, body: { reason: why }, headers }),
        'The card is blocked.',
      ),
    },
    unblock: {
      title: 'Unblock the card',
      describe: `Unblock the card. Reason: "${why}".`,
      run: verb(
        (api, headers) =>
          api.POST('/v1/cards/{cardId}/unblock', { params: { path }, body: { reason: why }, headers }),
        'The card is active again.',
      ),
    },
    'pin-reset': {
      title: 'Reset the PIN',
      describe: `Clear the PIN and its lock; the holder sets a new one. Reason: "${why}".`,
      run: verb(
        (api, headers) =>
          api.POST('/v1/cards/{cardId}/pin/reset', { params: { path }, body: { reason: why }, headers }),
        'The PIN was reset.',
      ),
    },
    deactivate: {
      title: 'Deactivate the card for good',
      describe: `Deactivate the card. This cannot be undone. Reason: "${why}".`,
      run: verb(
        (api, headers) =>
          api.POST('/v1/cards/{cardId}/deactivate', { params: { path }, body: { reason: why }, headers }),
        'The card is deactivated.',
      ),
    },
    'cash-out': {
      title: 'Cash out the balance',
      describe: `Clear the balance of ${money(card.balance)} (paid out in cash). Reason: "${why}".`,
      run: verb(
        (api, headers) =>
          api.POST('/v1/cards/{cardId}/cash-out', { params: { path }, body: { reason: why }, headers }),
        'The balance was cashed out.',
      ),
    },
    reissue: {
      title: 'Reissue: a new card with this balance',
      describe: `Issue a new ${card.type.toLowerCase()} card, move this card's ${money(card.balance)} onto it and deactivate this card for good. Reason: "${why}".`,
      run: async () => {
        const done = await change((api, headers) =>
          api.POST('/v1/cards/{cardId}/reissue', {
            params: { path },
            body: { reason: why, channel: 'CONSOLE' },
            headers,
          }),
        );
        return {
          message: `Reissued: ${money(card.balance)} moved to the new card; this card is deactivated.`,
          entries: done.transactions,
          replacement: done.replacement,
        };
      },
    },
  };
  const plan = plans[kind];
  return (
    <ActionForm
      title={plan.title}
      describe={() => plan.describe}
      fields={fields}
      valid={valid}
      onConfirm={plan.run}
      onDone={(result) => onDone(result as ActionOutcome)}
    />
  );
}
