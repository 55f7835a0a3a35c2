import type { EntryType, LedgerEntry } from './ledger';
import { formatAmount, minorUnits } from './money';

/**
 * Fraud rules: pure evaluation of one new ledger entry against the windowed counters the store keeps
 * (functions/store/fraud-counters.ts) and the program's settings. The stream consumer
 * (functions/streams/fraud.ts) turns each hit into an alert and, when the hit says so, blocks the card.
 *
 * Windows are counted in whole minutes (and hours for MANY_MERCHANTS), ending at the entry's own time:
 * a window of W minutes covers the minute of the entry and the W before it.
 */

/** Rules a program configures; FAILED_CHECKS_KEY is deployment-wide (an API key spans programs). */
export const PROGRAM_FRAUD_RULES = [
  'REDEMPTION_VELOCITY_CARD',
  'REDEMPTION_VELOCITY_MERCHANT',
  'DRAIN_AFTER_ACTIVATION',
  'LARGE_LOAD',
  'MANY_MERCHANTS',
] as const;
export type ProgramFraudRule = (typeof PROGRAM_FRAUD_RULES)[number];

export const FRAUD_RULES = [...PROGRAM_FRAUD_RULES, 'FAILED_CHECKS_KEY'] as const;
export type FraudRuleName = (typeof FRAUD_RULES)[number];

export const FRAUD_SEVERITIES = ['LOW', 'MEDIUM', 'HIGH'] as const;
export type FraudSeverity = (typeof FRAUD_SEVERITIES)[number];

interface RuleSwitch {
  readonly enabled: boolean;
  /** Block the card (ledger entry BLOCK, reason SUSPECTED_FRAUD) when the rule fires. */
  readonly block: boolean;
}

/** More than `maxCount` redemptions, or more than `maxAmount` redeemed, within `windowMinutes`. */
export interface VelocitySettings extends RuleSwitch {
  readonly windowMinutes: number;
  readonly maxCount: number;
  readonly maxAmount: number;
}

/** `percent` or more of the activated value taken off the card within `withinMinutes` of ACTIVATE. */
export interface DrainSettings extends RuleSwitch {
  readonly withinMinutes: number;
  readonly percent: number;
}

/** A LOAD, or an ACTIVATE whose activated value, above `threshold` minor units. */
export interface LargeLoadSettings extends RuleSwitch {
  readonly threshold: number;
}

/** A card redeemed at more than `maxMerchants` distinct merchants within `windowHours`. */
export interface ManyMerchantsSettings extends RuleSwitch {
  readonly windowHours: number;
  readonly maxMerchants: number;
}

export interface FraudRules {
  readonly REDEMPTION_VELOCITY_CARD: VelocitySettings;
  /** Counted per merchant within the program; a hit blocks (when it says so) the card that tripped it. */
  readonly REDEMPTION_VELOCITY_MERCHANT: VelocitySettings;
  readonly DRAIN_AFTER_ACTIVATION: DrainSettings;
  readonly LARGE_LOAD: LargeLoadSettings;
  readonly MANY_MERCHANTS: ManyMerchantsSettings;
}

/** A change to some settings of some rules (PATCH /v1/programs, and programs stored before a rule). */
export type FraudRulesPatch = {
  readonly [K in ProgramFraudRule]?: Partial<FraudRules[K]>;
};

/** Limits of the settings, shared by validation and documentation. */
export const FRAUD_LIMITS = {
  windowMinutes: { min: 1, max: 1440 },
  withinMinutes: { min: 1, max: 1440 },
  windowHours: { min: 1, max: 168 },
  maxCount: { min: 1, max: 100_000 },
  maxMerchants: { min: 1, max: 1000 },
  percent: { min: 1, max: 100 },
} as const;

/**
 * Defaults, scaled to the currency like the program's own limits (a major unit is 10^minor units):
 * - REDEMPTION_VELOCITY_CARD blocks: more than 5 redemptions, or more than 2,000 major units (the default
 *   maximum balance: only reloads make it possible), within 10 minutes;
 * - REDEMPTION_VELOCITY_MERCHANT alerts: more than 300 redemptions or 50,000 major units in 10 minutes;
 * - DRAIN_AFTER_ACTIVATION alerts: 90 % of the activated value gone within 30 minutes (buying a card
 *   and spending it at once is often legitimate: support decides);
 * - LARGE_LOAD alerts: a load or activation above 250 major units;
 * - MANY_MERCHANTS alerts: more than 5 distinct merchants within 24 hours.
 */
export function defaultFraudRules(currency: string): FraudRules {
  const unit = 10 ** minorUnits(currency);
  return {
    REDEMPTION_VELOCITY_CARD: {
      enabled: true,
      block: true,
      windowMinutes: 10,
      maxCount: 5,
      maxAmount: 2000 * unit,
    },
    REDEMPTION_VELOCITY_MERCHANT: {
      enabled: true,
      block: false,
      windowMinutes: 10,
      maxCount: 300,
      maxAmount: 50_000 * unit,
    },
    DRAIN_AFTER_ACTIVATION: { enabled: true, block: false, withinMinutes: 30, percent: 90 },
    LARGE_LOAD: { enabled: true, block: false, threshold: 250 * unit },
    MANY_MERCHANTS: { enabled: true, block: false, windowHours: 24, maxMerchants: 5 },
  };
}

/** The settings with a patch applied rule by rule, field by field (absent fields keep their value). */
export function mergeFraudRules(base: FraudRules, patch: FraudRulesPatch | undefined): FraudRules {
  if (!patch) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const rule of PROGRAM_FRAUD_RULES) {
    const change = patch[rule];
    if (!change) continue;
    const defined = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined));
    merged[rule] = { ...base[rule], ...defined };
  }
  return merged as unknown as FraudRules;
}

/** Money spent at a merchant: what the velocity and merchant rules count. */
const REDEMPTIONS: readonly EntryType[] = ['REDEEM', 'CAPTURE'];
/** Value leaving the card by any way: what the drain rule counts. */
const DRAINS: readonly EntryType[] = ['REDEEM', 'CAPTURE', 'TRANSFER_OUT', 'CLEAR_BALANCE'];

export const isRedemption = (entry: Pick<LedgerEntry, 'type'>): boolean => REDEMPTIONS.includes(entry.type);
export const isDrain = (entry: Pick<LedgerEntry, 'type'>): boolean => DRAINS.includes(entry.type);

/** Entry types any rule looks at; the stream consumer's filter lets only these through. */
export const FRAUD_ENTRY_TYPES: readonly EntryType[] = [
  ...new Set<EntryType>([...DRAINS, 'LOAD', 'ACTIVATE', 'REFUND']),
];

/**
 * Value an entry puts on a card for LARGE_LOAD: a load's amount, an activation's activated value, and
 * a refund that names no redemption (new value, as a load: core/card-policy.ts).
 */
export function loadedValue(
  entry: Pick<LedgerEntry, 'type' | 'amount' | 'balanceAfter' | 'relatedTransactionId'>,
): number | undefined {
  if (entry.type === 'LOAD') return entry.amount;
  if (entry.type === 'ACTIVATE') return entry.balanceAfter;
  if (entry.type === 'REFUND' && entry.relatedTransactionId === undefined) return entry.amount;
  return undefined;
}

export interface WindowTotals {
  /** Redemptions in the window, this entry included. */
  readonly count: number;
  /** Minor units redeemed in the window, this entry included. */
  readonly amount: number;
}

export interface ActivationTotals {
  readonly activatedAt: string;
  /** The card's balance right after ACTIVATE. */
  readonly activatedValue: number;
  /** Minor units taken off the card since, this entry included. */
  readonly drained: number;
}

/** What the store read for this entry; a counter the entry does not concern is absent. */
export interface FraudCounters {
  /** The card's redemptions within REDEMPTION_VELOCITY_CARD.windowMinutes. */
  readonly card?: WindowTotals;
  /** The merchant's redemptions in the program within REDEMPTION_VELOCITY_MERCHANT.windowMinutes. */
  readonly merchant?: WindowTotals;
  readonly activation?: ActivationTotals;
  /** Distinct merchants the card was redeemed at within MANY_MERCHANTS.windowHours. */
  readonly merchants?: number;
}

/** Which counters to read for an entry under these settings (nothing for a rule that is off). */
export interface CounterNeeds {
  readonly cardWindowMinutes?: number;
  readonly merchantWindowMinutes?: number;
  readonly merchantsWindowHours?: number;
  /** DRAIN_AFTER_ACTIVATION: an ACTIVATE records the activated value, later drains add to it. */
  readonly activation: boolean;
}

export function counterNeeds(
  entry: Pick<LedgerEntry, 'type' | 'merchantId'>,
  rules: FraudRules,
): CounterNeeds {
  const redemption = isRedemption(entry);
  const atMerchant = redemption && entry.merchantId !== undefined;
  return {
    ...(redemption && rules.REDEMPTION_VELOCITY_CARD.enabled
      ? { cardWindowMinutes: rules.REDEMPTION_VELOCITY_CARD.windowMinutes }
      : {}),
    ...(atMerchant && rules.REDEMPTION_VELOCITY_MERCHANT.enabled
      ? { merchantWindowMinutes: rules.REDEMPTION_VELOCITY_MERCHANT.windowMinutes }
      : {}),
    ...(atMerchant && rules.MANY_MERCHANTS.enabled
      ? { merchantsWindowHours: rules.MANY_MERCHANTS.windowHours }
      : {}),
    activation: (isDrain(entry) || entry.type === 'ACTIVATE') && rules.DRAIN_AFTER_ACTIVATION.enabled,
  };
}

export interface FraudHit {
  readonly rule: FraudRuleName;
  readonly severity: FraudSeverity;
  /** For people: what was seen against which limit. Never a code, a PIN or a key. */
  readonly detail: string;
  readonly block: boolean;
  /**
   * One alert per subject and rule until `until`: later hits of the same burst are not new alerts.
   * Absent: every hit is an alert (each large load is one event).
   */
  readonly quiet?: { readonly subject: string; readonly until: string };
}

const SEVERITY: Readonly<Record<FraudRuleName, FraudSeverity>> = {
  REDEMPTION_VELOCITY_CARD: 'HIGH',
  REDEMPTION_VELOCITY_MERCHANT: 'MEDIUM',
  DRAIN_AFTER_ACTIVATION: 'HIGH',
  LARGE_LOAD: 'MEDIUM',
  MANY_MERCHANTS: 'MEDIUM',
  FAILED_CHECKS_KEY: 'HIGH',
};

const MINUTE_MS = 60_000;
const plusMinutes = (iso: string, minutes: number): string =>
  new Date(Date.parse(iso) + minutes * MINUTE_MS).toISOString();

export const cardSubject = (cardId: string) => `card#${cardId}`;
export const merchantSubject = (merchantId: string, programId: string) =>
  `merchant#${merchantId}#${programId}`;

function velocityHit(
  rule: 'REDEMPTION_VELOCITY_CARD' | 'REDEMPTION_VELOCITY_MERCHANT',
  settings: VelocitySettings,
  totals: WindowTotals | undefined,
  entry: LedgerEntry,
  subject: string,
  who: string,
): FraudHit | undefined {
  if (!settings.enabled || !totals) return undefined;
  const tooMany = totals.count > settings.maxCount;
  const tooMuch = totals.amount > settings.maxAmount;
  if (!tooMany && !tooMuch) return undefined;
  const money = (amount: number) => `${formatAmount(amount, entry.currency)} ${entry.currency}`;
  return {
    rule,
    severity: SEVERITY[rule],
    detail:
      `${totals.count} redemptions totalling ${money(totals.amount)} ${who} within ${settings.windowMinutes} min ` +
      `(limits: ${settings.maxCount} redemptions, ${money(settings.maxAmount)}).`,
    block: settings.block,
    quiet: { subject, until: plusMinutes(entry.createdAt, settings.windowMinutes) },
  };
}

/** The rules' verdict on one entry: every rule that fires, in a fixed order. */
export function evaluateFraudRules(
  entry: LedgerEntry,
  counters: FraudCounters,
  rules: FraudRules,
): FraudHit[] {
  const hits: FraudHit[] = [];
  const money = (amount: number) => `${formatAmount(amount, entry.currency)} ${entry.currency}`;

  if (isRedemption(entry)) {
    const card = velocityHit(
      'REDEMPTION_VELOCITY_CARD',
      rules.REDEMPTION_VELOCITY_CARD,
      counters.card,
      entry,
      cardSubject(entry.cardId),
      'on this card',
    );
    if (card) hits.push(card);
    if (entry.merchantId !== undefined) {
      const merchant = velocityHit(
        'REDEMPTION_VELOCITY_MERCHANT',
        rules.REDEMPTION_VELOCITY_MERCHANT,
        counters.merchant,
        entry,
        merchantSubject(entry.merchantId, entry.programId),
        `at merchant ${entry.merchantId}`,
      );
      if (merchant) hits.push(merchant);
    }
  }

  const drain = rules.DRAIN_AFTER_ACTIVATION;
  const activation = counters.activation;
  if (drain.enabled && isDrain(entry) && activation && activation.activatedValue > 0) {
    const minutes = (Date.parse(entry.createdAt) - Date.parse(activation.activatedAt)) / MINUTE_MS;
    if (
      minutes >= 0 &&
      minutes <= drain.withinMinutes &&
      activation.drained * 100 >= drain.percent * activation.activatedValue
    ) {
      hits.push({
        rule: 'DRAIN_AFTER_ACTIVATION',
        severity: SEVERITY.DRAIN_AFTER_ACTIVATION,
        detail:
          `${money(activation.drained)} of the ${money(activation.activatedValue)} activated taken off the card ` +
          `${Math.floor(minutes)} min after activation (limit: ${drain.percent} % within ${drain.withinMinutes} min).`,
        block: drain.block,
        // Once per activation: the rule cannot fire after the window anyway.
        quiet: {
          subject: cardSubject(entry.cardId),
          until: plusMinutes(activation.activatedAt, drain.withinMinutes + 1),
        },
      });
    }
  }

  const large = rules.LARGE_LOAD;
  const loaded = loadedValue(entry);
  if (large.enabled && loaded !== undefined && loaded > large.threshold) {
    hits.push({
      rule: 'LARGE_LOAD',
      severity: SEVERITY.LARGE_LOAD,
      detail: `${{ LOAD: 'A load', ACTIVATE: 'An activation' }[entry.type as 'LOAD' | 'ACTIVATE'] ?? 'A refund naming no redemption'} of ${money(loaded)} (threshold: ${money(large.threshold)}).`,
      block: large.block,
    });
  }

  const many = rules.MANY_MERCHANTS;
  if (
    many.enabled &&
    isRedemption(entry) &&
    entry.merchantId !== undefined &&
    counters.merchants !== undefined &&
    counters.merchants > many.maxMerchants
  ) {
    hits.push({
      rule: 'MANY_MERCHANTS',
      severity: SEVERITY.MANY_MERCHANTS,
      detail: `The card was redeemed at ${counters.merchants} distinct merchants within ${many.windowHours} h (limit: ${many.maxMerchants}).`,
      block: many.block,
      quiet: {
        subject: cardSubject(entry.cardId),
        until: plusMinutes(entry.createdAt, many.windowHours * 60),
      },
    });
  }

  return hits;
}

/**
 * FAILED_CHECKS_KEY: a caller (API key or staff user) whose lookups by code found nothing or whose PINs
 * were wrong more than `threshold` times in one fixed window. Fires once, on the failure that crosses it.
 */
export function evaluateFailedChecks(
  before: number,
  after: number,
  threshold: number,
  windowMinutes: number,
): FraudHit | undefined {
  if (!(before <= threshold && after > threshold)) return undefined;
  return {
    rule: 'FAILED_CHECKS_KEY',
    severity: SEVERITY.FAILED_CHECKS_KEY,
    detail: `More than ${threshold} failed card lookups or PIN checks within ${windowMinutes} min from one caller.`,
    block: false,
  };
}
