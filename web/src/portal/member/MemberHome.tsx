import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { call, idempotencyHeader } from '../../shared/api';
import { formatMoney } from '../../shared/money';
import { type MemberSession, memberMessage } from './session';

const POINTS_LABELS: Record<string, string> = {
  EARN: 'Earned',
  SPEND: 'Spent',
  REVERSE_EARN: 'Taken back (refund or reversal)',
  EXPIRE: 'Expired',
  ADJUST: 'Correction',
};

type Loaded = {
  readonly member: { tier: string; tierEarnedPoints: number; pointsBalance: number; contact?: string };
  readonly history: readonly { id: string; type: string; points: number; createdAt: string }[];
  readonly cards: readonly { cardId: string; last4: string; linkedAt: string }[];
  readonly rewards: readonly { id: string; name: string; pointsCost: number; active: boolean }[];
};

/**
 * A signed-in member: points balance and tier, points history, linked cards (link one with its code and
 * PIN), the rewards catalogue (redeem onto a linked card), export and delete of their data, sign-out.
 */
export function MemberHome({
  session,
  onSignedOut,
}: {
  readonly session: MemberSession;
  readonly onSignedOut: (message: string) => void;
}) {
  const { token } = session;
  const [loaded, setLoaded] = useState<Loaded>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const refresh = useCallback(async () => {
    try {
      const [member, history, cards, rewards] = await Promise.all([
        call((api) => api.GET('/v1/members/me'), token),
        call((api) => api.GET('/v1/members/me/points', { params: { query: { limit: 50 } } }), token),
        call((api) => api.GET('/v1/members/me/cards'), token),
        call((api) => api.GET('/v1/members/me/rewards'), token),
      ]);
      setLoaded({ member, history: history.items, cards: cards.items, rewards: rewards.items });
    } catch (failure) {
      setError(memberMessage(failure));
    }
  }, [token]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const act = async (work: () => Promise<string | undefined>) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const message = await work();
      if (message) setNotice(message);
      await refresh();
    } catch (failure) {
      setError(memberMessage(failure));
    }
  };

  const signOut = async () => {
    try {
      await call((api) => api.POST('/v1/members/me/sign-out', { body: {} }), token);
    } finally {
      onSignedOut('You are signed out.');
    }
  };

  const exportData = () =>
    act(async () => {
      const data = await call((api) => api.GET('/v1/members/me/export'), token);
      const url = URL.createObjectURL(
        new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }),
      );
      const link = document.createElement('a');
      link.href = url;
      link.download = 'my-loyalty-data.json';
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return 'Your data was downloaded as my-loyalty-data.json.';
    });

  if (!loaded) {
    return (
      <section aria-busy={!error}>
        {error ? (
          <p role="alert" className="error" data-testid="member-error">
            {error}
          </p>
        ) : (
          <p>Loading your points…</p>
        )}
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </section>
    );
  }
  const { member, history, cards, rewards } = loaded;
  return (
    <section>
      <h2>Your points</h2>
      <p className="balance">
        <strong data-testid="member-points">{member.pointsBalance}</strong> points
      </p>
      <p>
        Tier: <strong data-testid="member-tier">{member.tier}</strong> ({member.tierEarnedPoints} points
        earned recently)
      </p>
      {notice && (
        <p role="status" data-testid="member-home-notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="error" data-testid="member-error">
          {error}
        </p>
      )}
      <button type="button" className="secondary" onClick={() => void refresh()}>
        Refresh
      </button>

      <h2>Your cards</h2>
      {cards.length === 0 ? (
        <p>No card linked yet: link one to earn points when you use it.</p>
      ) : (
        <ul data-testid="member-cards">
          {cards.map((card) => (
            <li key={card.cardId}>
              Card ending {card.last4}{' '}
              <button
                type="button"
                className="secondary"
                onClick={() =>
                  act(async () => {
                    await call(
                      (api) =>
                        api.DELETE('/v1/members/me/cards/{cardId}', {
                          params: { path: { cardId: card.cardId } },
                        }),
                      token,
                    );
                    return `The card ending ${card.last4} is no longer linked.`;
                  })
                }
              >
                Unlink card ending {card.last4}
              </button>
            </li>
          ))}
        </ul>
      )}
      <LinkCard token={token} onLinked={(last4) => act(async () => `Card ending ${last4} linked.`)} />

      <h2>Rewards</h2>
      {rewards.filter((reward) => reward.active).length === 0 ? (
        <p>No rewards yet.</p>
      ) : (
        <ul>
          {rewards
            .filter((reward) => reward.active)
            .map((reward) => (
              <li key={reward.id}>
                {reward.name}: {reward.pointsCost} points{' '}
                {cards[0] && (
                  <button
                    type="button"
                    disabled={member.pointsBalance < reward.pointsCost}
                    onClick={() =>
                      act(async () => {
                        const target = cards[0];
                        if (!target) return undefined;
                        const done = await call(
                          (api) =>
                            api.POST('/v1/members/me/rewards/{rewardId}/redeem', {
                              params: { path: { rewardId: reward.id } },
                              headers: idempotencyHeader(),
                              body: { cardId: target.cardId },
                            }),
                          token,
                        );
                        return `${formatMoney(done.valueMinor, done.currency)} added to the card ending ${target.last4}.`;
                      })
                    }
                  >
                    Redeem {reward.name}
                  </button>
                )}
              </li>
            ))}
        </ul>
      )}

      <h2>History</h2>
      {history.length === 0 ? (
        <p>No points yet.</p>
      ) : (
        <table data-testid="member-history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Points</th>
            </tr>
          </thead>
          <tbody>
            {history.map((entry) => (
              <tr key={entry.id}>
                <td>{new Date(entry.createdAt).toLocaleString()}</td>
                <td>{POINTS_LABELS[entry.type] ?? entry.type}</td>
                <td>{entry.points > 0 ? `+${entry.points}` : entry.points}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Your data</h2>
      <button type="button" className="secondary" onClick={exportData}>
        Export my data
      </button>
      <DeleteMe
        token={token}
        onDeleted={() => onSignedOut('Your membership and personal data are deleted.')}
      />
      <button type="button" onClick={signOut}>
        Sign out
      </button>
    </section>
  );
}

function LinkCard({
  token,
  onLinked,
}: {
  readonly token: string;
  readonly onLinked: (last4: string) => void;
}) {
  const [code, setCode] = useState('');
  const [pin, setPin] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const link = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const linked = await call(
        (api) =>
          api.POST('/v1/members/me/cards', {
            headers: idempotencyHeader(),
            body: { code: code.trim(), ...(pin ? { pin } : {}) },
          }),
        token,
      );
      setCode('');
      setPin('');
      onLinked(linked.last4);
    } catch (failure) {
      setError(memberMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={link} className="card-form" aria-label="Link a card">
      <label htmlFor="link-code">Card code</label>
      <input
        id="link-code"
        autoComplete="off"
        autoCapitalize="characters"
        spellCheck={false}
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
      />
      <label htmlFor="link-pin">PIN (if your card has one)</label>
      <input
        id="link-pin"
        type="password"
        inputMode="numeric"
        autoComplete="off"
        value={pin}
        onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
      />
      <button type="submit" disabled={busy || code.trim() === ''}>
        {busy ? 'Linking…' : 'Link card'}
      </button>
      {error && (
        <p role="alert" className="error" data-testid="link-error">
          {error}
        </p>
      )}
    </form>
  );
}

function DeleteMe({ token, onDeleted }: { readonly token: string; readonly onDeleted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  const remove = async () => {
    try {
      await call((api) => api.DELETE('/v1/members/me'), token);
      onDeleted();
    } catch (failure) {
      setError(memberMessage(failure));
    }
  };
  return (
    <div>
      {confirming ? (
        <>
          <p>
            Delete your membership? Your contact details and consent are removed and your cards unlinked; the
            points records stay, without your name, as the law requires.
          </p>
          <button type="button" onClick={remove}>
            Yes, delete my data
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Keep my membership
          </button>
        </>
      ) : (
        <button type="button" className="secondary" onClick={() => setConfirming(true)}>
          Delete my data
        </button>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}
