import { useEffect, useState } from 'react';
import { ApiProblem, call } from '../shared/api';
import type { Answer } from '../shared/api-types';
import { formatMoney } from '../shared/money';
import { WalletButtons } from './Portal';

/**
 * An e-gift's claim page (issue #19): the claim link (`/portal/claim#token=...`, the token in the fragment
 * so it never reaches a server log) opens the card: its code, balance, the sender's message and the wallet
 * buttons. An unknown, wrong, expired or replaced token gets the API's one 404 and the same words here.
 */
type ClaimedCard = Answer<'/v1/portal/claim', 'post'>;

export const CLAIM_PATH = '/portal/claim';

const MISS =
  'This gift card link does not work. It may have expired or been replaced by a newer one: ask the sender to send it again.';

/** The token of the page's fragment (`#token=...`), or '' when there is none. */
export function claimTokenOf(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, '')).get('token') ?? '';
}

function messageOf(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.status === 429)
      return `Too many attempts. Try again in ${error.retryAfterSeconds ?? 60} seconds.`;
    if (error.status === 404 || error.status === 400) return MISS;
  }
  return 'Something went wrong. Try again in a moment.';
}

export function ClaimPage() {
  const [claimed, setClaimed] = useState<ClaimedCard>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    const token = claimTokenOf(window.location.hash);
    if (!token) {
      setError(MISS);
      return;
    }
    let current = true;
    call((api) => api.POST('/v1/portal/claim', { body: { token } })).then(
      (answer) => current && setClaimed(answer),
      (failure) => current && setError(messageOf(failure)),
    );
    return () => {
      current = false;
    };
  }, []);

  return (
    <main className="portal">
      <h1>Your gift card</h1>
      {!claimed && !error && <p aria-busy="true">Opening your gift card…</p>}
      {error && (
        <p role="alert" className="error" data-testid="claim-error">
          {error}
        </p>
      )}
      {claimed && <ClaimedCardView claimed={claimed} />}
    </main>
  );
}

function ClaimedCardView({ claimed }: { claimed: ClaimedCard }) {
  const { card } = claimed;
  return (
    <section aria-labelledby="claim-heading">
      <h2 id="claim-heading">
        {card.programName} from {claimed.from}
      </h2>
      {claimed.message && <blockquote data-testid="claim-message">{claimed.message}</blockquote>}
      <p>Your card code</p>
      <p className="code" data-testid="claim-code">
        {claimed.code}
      </p>
      <p className="balance" data-testid="claim-balance">
        {formatMoney(card.balance, card.currency)}
      </p>
      <dl className="facts">
        <dt>Available now</dt>
        <dd>{formatMoney(card.available, card.currency)}</dd>
        <dt>Status</dt>
        <dd>{card.status}</dd>
        {card.expiresAt && (
          <>
            <dt>Expires</dt>
            <dd>{new Date(card.expiresAt).toLocaleDateString()}</dd>
          </>
        )}
      </dl>
      <WalletButtons token={claimed.walletToken} />
    </section>
  );
}
