import type { Actor } from './ledger';

/**
 * A retailer's message to card holders' wallet passes: one card's, or every card of a program. The
 * Apple pass shows the latest one as a field (changeMessage "%@", so the device notifies); the
 * wallet-sync stream consumer delivers each new one to Apple (APNs) and Google Wallet.
 */
export interface WalletMessage {
  readonly id: string;
  /** Exactly one of cardId and programId. */
  readonly cardId?: string;
  readonly programId?: string;
  readonly header: string;
  readonly body: string;
  readonly actor: Actor;
  readonly createdAt: string;
}

export type WalletMessageTarget = { readonly cardId: string } | { readonly programId: string };

export const WALLET_MESSAGE_LIMITS = { header: 64, body: 500 } as const;

/** The newer of two messages (either may be missing). */
export function newerMessage(
  a: WalletMessage | undefined,
  b: WalletMessage | undefined,
): WalletMessage | undefined {
  if (!a) return b;
  if (!b) return a;
  return `${b.createdAt}#${b.id}` > `${a.createdAt}#${a.id}` ? b : a;
}
