/** The API's views (functions/http/views.ts and the route groups' own). */
export interface CardView {
  id: string;
  programId: string;
  type: string;
  status: string;
  currency: string;
  balance: number;
  available: number;
  last4: string;
  expiresAt: string | null;
  createdAt: string;
  activatedAt: string | null;
  customerId: string | null;
  merchantId: string | null;
  statusReason: string | null;
}

export interface TransactionView {
  id: string;
  cardId: string;
  type: string;
  amount: number;
  currency: string;
  balanceAfter: number;
  availableAfter: number;
  merchantId: string | null;
  actor: { type: string; id: string };
  reason: string | null;
  reference: string | null;
  channel: string;
  locationId: string | null;
  terminalId: string | null;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Program {
  id: string;
  name: string;
  currency: string;
  pinPolicy?: string;
  expiryPolicy?: unknown;
  minLoad?: number;
  maxLoad?: number;
  maxBalance?: number;
  [key: string]: unknown;
}

export interface FraudAlert {
  id: string;
  rule: string;
  severity: string;
  status: string;
  detail: string;
  cardId: string | null;
  programId: string | null;
  merchantId: string | null;
  block: boolean;
  cardAction: string | null;
  createdAt?: string;
}

export interface HoldView {
  id: string;
  cardId: string;
  amount: number;
  currency: string;
  status: string;
  expiresAt: string;
  createdAt: string;
  transactionId: string;
  reference: string | null;
}
