import type { MerchantScope, StaffRole } from './access';
import type { Card } from './card-model';
import { displayStatus, isExpired } from './card-model';
import { DomainError, type ErrorCode, notFound, validationFailed } from './errors';
import type { Actor, Channel } from './ledger';
import type { Program } from './program';

/**
 * The card-verb policy: who may do what to which card, in which state, with or without the PIN, on
 * whose entries and holds, under which program limits, and whether a reason is required. One row per
 * verb. The planners (core/card-plans) ask it; the route table takes each card route's callers from it;
 * the README's access matrix is generated from it (`npm run policy-matrix`); a test walks every verb x
 * caller x card state x PIN case it implies. Nothing else decides policy.
 */
export const CARD_VERBS = [
  'ACTIVATE',
  'LOAD',
  'REDEEM',
  'REFUND',
  'HOLD',
  'CAPTURE',
  'VOID',
  'REVERSE',
  'TRANSFER',
  'CASH_OUT',
  'ADJUST',
  'BLOCK',
  'UNBLOCK',
  'DEACTIVATE',
  'PIN_SET',
  'PIN_RESET',
  'EXPIRE',
  'REISSUE',
] as const;
export type CardVerb = (typeof CARD_VERBS)[number];

/** A card's state as the policy sees it: its status, or EXPIRED once its expiry date has passed. */
export type CardState = 'PENDING' | 'ACTIVE' | 'BLOCKED' | 'DEACTIVATED' | 'EXPIRED';
export const CARD_STATES: readonly CardState[] = ['PENDING', 'ACTIVE', 'BLOCKED', 'DEACTIVATED', 'EXPIRED'];

/**
 * Who acts, as the policy tells callers apart. `system`: the scheduled jobs and stream consumers;
 * `holder`: the card holder in the portal, who proved possession with the code (and PIN) first.
 */
export type ActorClass = 'merchant' | 'staff' | 'system' | 'holder';

/**
 * `SPEND`: the program's PIN policy applies to merchants (ALWAYS, or ONLINE_ONLY on the ONLINE
 * channel); staff act without it. `CURRENT`: changing a PIN that is set takes the current one from a
 * merchant. `NONE`: no PIN.
 */
export type PinRule = 'SPEND' | 'CURRENT' | 'NONE';

/**
 * `LOAD`: min/max load of the program; `MAX_BALANCE`: the balance after may not exceed the program's
 * maximum (for a refund against a redemption, money going back where it came from, it may).
 */
export type Limit = 'LOAD' | 'MAX_BALANCE';

export interface VerbRule {
  readonly summary: string;
  /** The scope a merchant's API key needs; absent: merchants may not. */
  readonly merchant?: MerchantScope;
  /** Staff roles that may. */
  readonly staff: readonly StaffRole[];
  /** Scheduled jobs and stream consumers (hold expiry, expiry sweep, fraud rules). */
  readonly system?: boolean;
  /** The card holder through the portal (functions/api/portal.ts). */
  readonly holder?: boolean;
  /** The card states each kind of actor may act in. */
  readonly states: Readonly<Record<Exclude<ActorClass, 'holder'>, readonly CardState[]>> & {
    readonly holder?: readonly CardState[];
  };
  /** What a refused state answers: CONFLICT for state-machine moves, else the card's state code. */
  readonly wrongState: 'CONFLICT' | 'STATE';
  readonly pin: PinRule;
  /**
   * `REFUSE`: the card must not have expired, whatever its status (support moving value off a blocked
   * card cannot move value that went to breakage). `ALLOW`: the states alone decide.
   */
  readonly expiry: 'REFUSE' | 'ALLOW';
  /** The verb names an entry or hold: a merchant may act only on its own; staff and jobs on any. */
  readonly ownEntry: boolean;
  readonly limits: readonly Limit[];
  /** `STAFF`: staff must say why (kept on the entry); `ALWAYS`: everyone must. */
  readonly reason: 'STAFF' | 'ALWAYS' | 'NO';
}

const CARE: readonly StaffRole[] = ['admin', 'support'];
const NONE: readonly CardState[] = [];
const ACTIVE: readonly CardState[] = ['ACTIVE'];
const LIVE: readonly CardState[] = ['PENDING', 'ACTIVE', 'BLOCKED', 'EXPIRED'];
const ALL: readonly CardState[] = CARD_STATES;

type Defaults = 'ownEntry' | 'limits' | 'reason' | 'pin' | 'wrongState' | 'expiry';
const rule = (row: Omit<VerbRule, Defaults> & Partial<Pick<VerbRule, Defaults>>): VerbRule => ({
  ownEntry: false,
  limits: [],
  reason: 'NO',
  pin: 'NONE',
  wrongState: 'STATE',
  expiry: 'ALLOW',
  ...row,
});

export const CARD_POLICY: Readonly<Record<CardVerb, VerbRule>> = {
  ACTIVATE: rule({
    expiry: 'REFUSE',
    summary: 'sell a pending card, with its value',
    merchant: 'cards:issue',
    staff: CARE,
    states: { merchant: ['PENDING'], staff: ['PENDING'], system: NONE },
    wrongState: 'CONFLICT',
    limits: ['LOAD', 'MAX_BALANCE'],
  }),
  LOAD: rule({
    expiry: 'REFUSE',
    summary: 'add value',
    merchant: 'cards:transact',
    staff: CARE,
    // A loyalty reward lands on the member's linked card as the system's load (functions/app/loyalty-rewards.ts):
    // no public route acts as the system, so the holder gains no right to add value.
    system: true,
    states: { merchant: ACTIVE, staff: ACTIVE, system: ACTIVE },
    limits: ['LOAD', 'MAX_BALANCE'],
  }),
  REDEEM: rule({
    expiry: 'REFUSE',
    summary: 'spend value',
    merchant: 'cards:transact',
    staff: CARE,
    states: { merchant: ACTIVE, staff: ACTIVE, system: NONE },
    pin: 'SPEND',
  }),
  REFUND: rule({
    expiry: 'REFUSE',
    summary: 'money back onto the card (against an own redemption: up to it; otherwise a load)',
    merchant: 'cards:transact',
    staff: CARE,
    states: { merchant: ACTIVE, staff: ACTIVE, system: NONE },
    ownEntry: true,
    limits: ['LOAD', 'MAX_BALANCE'],
  }),
  HOLD: rule({
    expiry: 'REFUSE',
    summary: 'set value aside for a later capture',
    merchant: 'cards:transact',
    staff: CARE,
    states: { merchant: ACTIVE, staff: ACTIVE, system: NONE },
    pin: 'SPEND',
  }),
  CAPTURE: rule({
    expiry: 'REFUSE',
    summary: 'take all or part of an own hold',
    merchant: 'cards:transact',
    staff: CARE,
    states: { merchant: ACTIVE, staff: ACTIVE, system: NONE },
    ownEntry: true,
  }),
  VOID: rule({
    summary: 'release an own hold',
    merchant: 'cards:transact',
    staff: CARE,
    system: true,
    states: { merchant: ALL, staff: ALL, system: ALL },
    ownEntry: true,
  }),
  REVERSE: rule({
    summary: 'undo an own redemption, capture, load or activation once',
    merchant: 'cards:transact',
    staff: CARE,
    // A member's timeout reversal of a reward undoes the reward's own load as the system
    // (functions/app/loyalty-rewards.ts reverses only the entry its redemption recorded).
    system: true,
    states: { merchant: LIVE, staff: LIVE, system: LIVE },
    ownEntry: true,
  }),
  TRANSFER: rule({
    expiry: 'REFUSE',
    summary: 'move value to another active card of the same currency',
    merchant: 'cards:transact',
    staff: CARE,
    holder: true,
    // Support empties a blocked or deactivated card into its replacement.
    states: { merchant: ACTIVE, staff: ['ACTIVE', 'BLOCKED', 'DEACTIVATED'], system: NONE, holder: ACTIVE },
    pin: 'SPEND',
    limits: ['MAX_BALANCE'],
  }),
  CASH_OUT: rule({
    expiry: 'REFUSE',
    summary: 'pay the balance out where the program allows it',
    merchant: 'cards:transact',
    staff: CARE,
    states: { merchant: ACTIVE, staff: ACTIVE, system: NONE },
    pin: 'SPEND',
    reason: 'STAFF',
  }),
  ADJUST: rule({
    summary: 'correct the balance',
    staff: CARE,
    states: { merchant: NONE, staff: LIVE, system: NONE },
    limits: ['MAX_BALANCE'],
    reason: 'ALWAYS',
  }),
  BLOCK: rule({
    summary: 'stop all spending',
    merchant: 'cards:transact',
    staff: CARE,
    system: true,
    // An expired card may still be blocked (a lost card reported after its expiry).
    states: { merchant: ['ACTIVE', 'EXPIRED'], staff: ['ACTIVE', 'EXPIRED'], system: ['ACTIVE', 'EXPIRED'] },
    wrongState: 'CONFLICT',
    reason: 'STAFF',
  }),
  UNBLOCK: rule({
    summary: 'allow spending again',
    staff: CARE,
    states: { merchant: NONE, staff: ['BLOCKED'], system: NONE },
    wrongState: 'CONFLICT',
    reason: 'STAFF',
  }),
  DEACTIVATE: rule({
    summary: 'end the card for good',
    staff: CARE,
    // Production voids PENDING cards of a lost carton, or whose printer file part was lost (app/production-*).
    system: true,
    states: { merchant: NONE, staff: LIVE, system: ['PENDING'] },
    wrongState: 'CONFLICT',
    reason: 'STAFF',
  }),
  PIN_SET: rule({
    summary: 'set or change the PIN',
    merchant: 'cards:transact',
    staff: CARE,
    states: { merchant: ['PENDING', 'ACTIVE'], staff: LIVE, system: NONE },
    pin: 'CURRENT',
  }),
  PIN_RESET: rule({
    summary: 'clear the PIN lock, and the PIN or set a new one',
    staff: CARE,
    states: { merchant: NONE, staff: LIVE, system: NONE },
    reason: 'ALWAYS',
  }),
  REISSUE: rule({
    expiry: 'REFUSE',
    summary:
      'replace the card: a new card of its program takes its whole balance, the old one is deactivated',
    staff: CARE,
    // A lost or stolen card is usually blocked first; a pending card has no value to carry over.
    states: { merchant: NONE, staff: ['ACTIVE', 'BLOCKED'], system: NONE },
    wrongState: 'CONFLICT',
    reason: 'ALWAYS',
  }),
  EXPIRE: rule({
    summary: 'move an expired card’s value to breakage',
    staff: [],
    system: true,
    // A blocked or deactivated card's value expires too (its state says nothing of its expiry).
    states: { merchant: NONE, staff: NONE, system: ['EXPIRED', 'BLOCKED', 'DEACTIVATED'] },
    wrongState: 'CONFLICT',
  }),
};

/** The actor as the policy sees it: its class, and a staff member's roles. */
export interface PolicyActor {
  readonly actor: Actor;
  /** A staff member's roles (all of them); the entry records only the first. */
  readonly roles?: readonly string[];
}

export const actorClass = (actor: Actor): ActorClass => actor.type;

function staffRoles({ actor, roles }: PolicyActor): readonly string[] {
  return roles ?? (actor.role ? [actor.role] : []);
}

/** Whether this actor may use the verb at all (merchant scopes are the route table's to check). */
export function mayAct(verb: CardVerb, who: PolicyActor): boolean {
  const row = CARD_POLICY[verb];
  switch (who.actor.type) {
    case 'merchant':
      return row.merchant !== undefined;
    case 'staff':
      return staffRoles(who).some((role) => row.staff.includes(role as StaffRole));
    case 'system':
      return row.system === true;
    case 'holder':
      return row.holder === true;
  }
}

export function requireActor(verb: CardVerb, who: PolicyActor): void {
  if (!mayAct(verb, who)) throw new DomainError('FORBIDDEN', `You may not ${verb.toLowerCase()} a card.`);
}

/**
 * The state the policy decides on: a blocked or deactivated card is that, expired or not (a blocked
 * card reports CARD_BLOCKED, not whether it also expired); any other card past its expiry is EXPIRED.
 */
export function cardState(card: Card, now: Date): CardState {
  if (card.status === 'BLOCKED' || card.status === 'DEACTIVATED') return card.status;
  return displayStatus(card, now);
}

/** The refusal for a card in a state the verb does not allow for this actor. */
export function stateRefusal(verb: CardVerb, state: CardState): DomainError {
  if (CARD_POLICY[verb].wrongState === 'CONFLICT') {
    if (state === 'EXPIRED' && verb !== 'EXPIRE')
      return new DomainError('CARD_EXPIRED', 'The card has expired.');
    return new DomainError('CONFLICT', `A card that is ${state} cannot take ${verb}.`);
  }
  const code: ErrorCode =
    state === 'BLOCKED' ? 'CARD_BLOCKED' : state === 'EXPIRED' ? 'CARD_EXPIRED' : 'CARD_NOT_ACTIVE';
  const detail =
    state === 'BLOCKED'
      ? 'The card is blocked.'
      : state === 'EXPIRED'
        ? 'The card has expired.'
        : `The card is ${state}, not ACTIVE.`;
  return new DomainError(code, detail);
}

export function mayActInState(verb: CardVerb, actor: Actor, state: CardState): boolean {
  return (CARD_POLICY[verb].states[actorClass(actor)] ?? NONE).includes(state);
}

/** The card must be in a state the verb allows for this actor. */
export function requireState(verb: CardVerb, actor: Actor, card: Card, now: Date): CardState {
  const state = cardState(card, now);
  if (!mayActInState(verb, actor, state)) throw stateRefusal(verb, state);
  if (CARD_POLICY[verb].expiry === 'REFUSE' && isExpired(card, now)) throw stateRefusal(verb, 'EXPIRED');
  return state;
}

/**
 * The card a transfer moves value onto: it takes it as a load would, active and unexpired, whoever moves
 * it (the actor's own rights are the source card's concern).
 */
export function requireReceivingCard(card: Card, now: Date): void {
  const state = cardState(card, now);
  if (state !== 'ACTIVE') throw stateRefusal('LOAD', state);
}

/**
 * Whether the verb needs the card's PIN from this actor on this channel (before any I/O: the PIN is
 * checked by the use case, which spends one of the card's attempts).
 */
export function pinApplies(
  verb: CardVerb,
  actor: Actor,
  program: Program,
  channel: Channel | undefined,
): boolean {
  if (CARD_POLICY[verb].pin !== 'SPEND' || actor.type !== 'merchant') return false;
  return programWantsPin(program, channel);
}

/** The program's own rule: always, or on the ONLINE channel only. */
export const programWantsPin = (program: Pick<Program, 'pinPolicy'>, channel: Channel | undefined): boolean =>
  program.pinPolicy === 'ALWAYS' || (program.pinPolicy === 'ONLINE_ONLY' && channel === 'ONLINE');

/**
 * An entry or hold the verb acts on must be the acting merchant's own; anyone else's is NOT_FOUND
 * (the same answer as an unknown id, so ids learned from webhooks or wallet passes tell nothing).
 */
export function requireOwn(
  verb: CardVerb,
  actor: Actor,
  record: { readonly merchantId?: string },
  what: 'The transaction' | 'The hold',
): void {
  if (!CARD_POLICY[verb].ownEntry || actor.type !== 'merchant') return;
  if (record.merchantId !== actor.id) throw notFound(what);
}

/** A merchant sees only its own entries' details (reference, store, till) on a card it shares. */
export const ownsEntry = (actor: Actor, entry: { readonly merchantId?: string }): boolean =>
  actor.type !== 'merchant' || entry.merchantId === actor.id;

export function requireReason(verb: CardVerb, actor: Actor, reason: string | undefined): void {
  const rule = CARD_POLICY[verb].reason;
  const needed = rule === 'ALWAYS' || (rule === 'STAFF' && actor.type === 'staff');
  if (needed && (reason === undefined || reason.trim() === '')) {
    throw validationFailed([
      { field: 'reason', message: `a reason is required to ${verb.toLowerCase()} a card` },
    ]);
  }
}

export const appliesLimit = (verb: CardVerb, limit: Limit): boolean =>
  CARD_POLICY[verb].limits.includes(limit);

/** Callers of a card verb's route, for the route table. */
export function verbAccess(verb: CardVerb): { merchant?: MerchantScope; staff: readonly StaffRole[] } {
  const row = CARD_POLICY[verb];
  return { ...(row.merchant ? { merchant: row.merchant } : {}), staff: row.staff };
}
