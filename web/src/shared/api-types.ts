import type { paths } from './api-schema';

/**
 * Names for the API's answers the pages pass around, taken from the generated types (never written by
 * hand): `Answer<'/v1/cards/{cardId}', 'get'>` is what that route answers as JSON on success.
 */
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Successes<O> = O extends { responses: infer R } ? R[Extract<keyof R, 200 | 201 | 202>] : never;
export type Answer<P extends keyof paths, M extends Method> = JsonOf<Successes<paths[P][M]>>;

type ItemOf<T> = T extends { items: (infer I)[] } ? I : never;

export type CardView = Answer<'/v1/cards/{cardId}', 'get'>;
export type TransactionView = ItemOf<Answer<'/v1/cards/{cardId}/transactions', 'get'>>;
export type HoldView = ItemOf<Answer<'/v1/cards/{cardId}/holds', 'get'>>;
export type CardChange = Answer<'/v1/cards/{cardId}/load', 'post'>;
export type Reissued = Answer<'/v1/cards/{cardId}/reissue', 'post'>;
export type PinState = Answer<'/v1/cards/{cardId}/pin', 'get'>;
export type WalletRegistrations = Answer<'/v1/cards/{cardId}/wallet/registrations', 'get'>;
export type Program = Answer<'/v1/programs/{programId}', 'get'>;
export type Merchant = Answer<'/v1/merchants/{merchantId}', 'get'>;
export type ApiKey = ItemOf<Answer<'/v1/merchants/{merchantId}/api-keys', 'get'>>;
export type Webhook = ItemOf<Answer<'/v1/webhooks', 'get'>>;
export type Delivery = ItemOf<Answer<'/v1/webhooks/{webhookId}/deliveries', 'get'>>;
export type FraudAlert = Answer<'/v1/fraud/alerts/{alertId}', 'get'>;
export type ReportRow = ItemOf<Answer<'/v1/reports/summary', 'get'>>;
export type DailyRow = ItemOf<Answer<'/v1/reports/daily', 'get'>>;
export type BreakageReport = Answer<'/v1/reports/breakage', 'get'>;
export type ExportRun = Answer<'/v1/exports/{exportId}', 'get'>;
export type QueueDepths = Answer<'/v1/ops/queues', 'get'>;
export type JobRun = ItemOf<Answer<'/v1/ops/job-runs', 'get'>>;
export type HolderBalance = Answer<'/v1/portal/balance', 'post'>;
export type HolderCard = HolderBalance['card'];

/** The currencies the API takes (ISO 4217 codes with their minor units, functions/core/money.ts). */
export type Currency = NonNullable<paths['/v1/reports/breakage']['get']['parameters']['query']>['currency'];
