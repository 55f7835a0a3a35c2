import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../../functions/core/card';
import {
  CARD_POLICY,
  CARD_STATES,
  type CardState,
  type CardVerb,
  stateRefusal,
} from '../../functions/core/card-policy';
import { ERROR_STATUS } from '../../functions/core/errors';
import type { Hold } from '../../functions/core/hold';
import { newId } from '../../functions/core/ids';
import { type LedgerEntry, transactionId } from '../../functions/core/ledger';
import { hashPin } from '../../functions/core/pin';
import { STAFF_ROLES, type StaffRole } from '../../functions/http/route-table';
import { cardItem } from '../../functions/store/card-items';
import { entryKey, holdKey, pinKey } from '../../functions/store/keys';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * The card-verb policy as a matrix, generated from its table (functions/core/card-policy.ts): every verb
 * a caller can send over HTTP x every caller (the merchant whose entries the card carries, another
 * merchant of the same program, a merchant of another program, each staff role) x every card state x,
 * where the policy guards the verb with the PIN, each PIN case (none given, none set, wrong, right).
 * Each case gets a card of its own, written straight into the table in that state with a PIN set, a
 * redemption and a hold by merchant A. The answer must be the one the policy implies, and a refused
 * request must leave the card as it was. EXPIRE has no route (the expiry sweep: test/integration/sweeps).
 */
let stack: LocalStack;
let client: ReturnType<typeof dynamoDbClient>;
const PIN = '4321';
/** One scrypt hash for every fixture: hashing per card cost the run tens of ms of blocked loop each. */
const PIN_HASH = hashPin(PIN);
const tokens: Record<string, string> = {};
let programId: string;
let merchantA: string;

type Caller = 'own merchant' | 'same-program merchant' | 'other-program merchant' | `staff ${StaffRole}`;
const CALLERS: readonly Caller[] = [
  'own merchant',
  'same-program merchant',
  'other-program merchant',
  ...STAFF_ROLES.map((role) => `staff ${role}` as const),
];
type PinCase = 'no PIN given' | 'no PIN set' | 'wrong PIN' | 'right PIN' | '-';
const HTTP_VERBS = (Object.keys(CARD_POLICY) as CardVerb[]).filter((verb) => verb !== 'EXPIRE');

const post = (path: string, token: string, body: unknown) =>
  request('POST', path, { token, idempotencyKey: randomUUID(), body });

async function merchant(name: string, programs: string[]): Promise<{ id: string; key: string }> {
  const created = await post('/v1/merchants', tokens['staff admin'] as string, { name, programs });
  const key = await post(`/v1/merchants/${created.body.id}/api-keys`, tokens['staff admin'] as string, {});
  return { id: created.body.id, key: key.body.apiKey };
}

beforeAll(async () => {
  // No stream consumers: the matrix reads the card straight from the table, and the consumers' reads and
  // writes for 700 cards would only slow DynamoDB Local for the requests under test.
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('the test stack did not seed');
  client = dynamoDbClient(stack.dynamodbEndpoint);
  for (const role of STAFF_ROLES) tokens[`staff ${role}`] = stack.demo.staffTokens[role];
  const admin = stack.demo.staffTokens.admin;
  const program = await post('/v1/programs', admin, {
    name: 'Matrix, PIN always',
    currency: 'USD',
    pinPolicy: 'ALWAYS',
    cashOut: { enabled: true },
  });
  programId = program.body.id;
  const other = await post('/v1/programs', admin, { name: 'Matrix, elsewhere', currency: 'USD' });
  const a = await merchant('Own', [programId]);
  merchantA = a.id;
  tokens['own merchant'] = a.key;
  tokens['same-program merchant'] = (await merchant('Same program', [programId])).key;
  tokens['other-program merchant'] = (await merchant('Other program', [other.body.id])).key;
}, 120_000);
afterAll(async () => {
  client?.destroy();
  await stack.stop();
});

interface Fixture {
  readonly card: Card;
  readonly redemption: LedgerEntry;
  readonly hold: Hold;
  readonly destination: Card;
}

const newCardId = () =>
  `gc_${randomBytes(16)
    .toString('hex')
    .slice(0, 26)
    .replace(/[ilou]/g, 'a')}`;
const at = new Date(Date.now() - 3_600_000).toISOString();

/** A card of the program in `state`, with A's redemption and hold, and a PIN unless `noPin`. */
async function fixture(state: CardState, noPin: boolean, withHold: boolean): Promise<Fixture> {
  const id = newCardId();
  const base = {
    id,
    programId,
    type: 'DIGITAL' as const,
    currency: 'USD',
    last4: '0000',
    createdAt: at,
    updatedAt: at,
  };
  const entry = (
    seq: number,
    type: LedgerEntry['type'],
    amount: number,
    balanceAfter: number,
    availableAfter: number,
    byA: boolean,
  ): LedgerEntry => ({
    id: transactionId(id, seq),
    cardId: id,
    programId,
    seq,
    type,
    amount,
    currency: 'USD',
    balanceAfter,
    availableAfter,
    actor: byA ? { type: 'merchant', id: merchantA } : { type: 'staff', id: 'matrix' },
    ...(byA ? { merchantId: merchantA } : {}),
    channel: byA ? 'POS' : 'CONSOLE',
    createdAt: at,
  });
  const issue = entry(1, 'ISSUE', 5000, 5000, 5000, false);
  const redemption = entry(2, 'REDEEM', -1000, 4000, 4000, true);
  const held = entry(3, 'HOLD', 0, 4000, 3500, true);
  const hold: Hold = {
    id: newId('hold'),
    cardId: id,
    amount: 500,
    currency: 'USD',
    status: 'ACTIVE',
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    createdAt: at,
    transactionId: held.id,
    merchantId: merchantA,
  };
  const status = state === 'EXPIRED' ? 'ACTIVE' : state;
  const card: Card = {
    ...base,
    status,
    balance: 4000,
    available: withHold ? 3500 : 4000,
    seq: withHold ? 3 : 2,
    ...(state === 'EXPIRED' ? { expiresAt: '2020-01-01T00:00:00.000Z' } : {}),
    ...(state === 'PENDING' ? {} : { activatedAt: at }),
  };
  const destination: Card = { ...base, id: newCardId(), status: 'ACTIVE', balance: 0, available: 0, seq: 1 };
  const items: Record<string, unknown>[] = [
    cardItem(card),
    ...(withHold ? [issue, redemption, held] : [issue, redemption]).map((e) => ({
      ...e,
      ...entryKey(id, e.seq),
    })),
    ...(withHold ? [{ ...hold, ...holdKey(id, hold.id) }] : []),
    cardItem(destination),
  ];
  if (!noPin) {
    items.push({ ...pinKey(id), cardId: id, ...PIN_HASH, failures: 0, version: 1, updatedAt: at });
  }
  await client.send(
    new BatchWriteItemCommand({
      RequestItems: {
        [stack.tableName]: items.map((item) => ({
          PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) },
        })),
      },
    }),
  );
  return { card, redemption, hold, destination };
}

/** The request each verb is, with a body that passes every check but the policy's. */
function send(verb: CardVerb, f: Fixture, token: string, pin: string | undefined) {
  const card = `/v1/cards/${f.card.id}`;
  const withPin = pin === undefined ? {} : { pin };
  const why = { reason: 'matrix test' };
  switch (verb) {
    case 'ACTIVATE':
      return post(`${card}/activate`, token, { amount: 1000 });
    case 'LOAD':
      return post(`${card}/load`, token, { amount: 1000 });
    case 'REDEEM':
      return post(`${card}/redeem`, token, { amount: 100, ...withPin });
    case 'REFUND':
      return post(`${card}/refund`, token, { amount: 100, transactionId: f.redemption.id });
    case 'HOLD':
      return post(`${card}/holds`, token, { amount: 100, ...withPin });
    case 'CAPTURE':
      return post(`${card}/holds/${f.hold.id}/capture`, token, {});
    case 'VOID':
      return post(`${card}/holds/${f.hold.id}/void`, token, {});
    case 'REVERSE':
      return post(`/v1/transactions/${f.redemption.id}/reverse`, token, {});
    case 'TRANSFER':
      return post(`${card}/transfer`, token, { toCardId: f.destination.id, amount: 100, ...withPin });
    case 'CASH_OUT':
      return post(`${card}/cash-out`, token, { ...withPin, ...(token.startsWith('gk_') ? {} : why) });
    case 'ADJUST':
      return post(`${card}/adjust`, token, { amount: 100, ...why });
    case 'BLOCK':
      return post(`${card}/block`, token, why);
    case 'UNBLOCK':
      return post(`${card}/unblock`, token, why);
    case 'DEACTIVATE':
      return post(`${card}/deactivate`, token, why);
    case 'PIN_SET':
      return request('PUT', `${card}/pin`, { token, body: { pin: '5928' } });
    case 'PIN_RESET':
      return post(`${card}/pin/reset`, token, why);
    case 'REISSUE':
      return post(`${card}/reissue`, token, why);
    case 'EXPIRE':
      throw new Error('EXPIRE has no route');
  }
}

/** What the policy says the answer is: 'OK' or [status, code]. */
function expected(
  verb: CardVerb,
  caller: Caller,
  state: CardState,
  pinCase: PinCase,
): 'OK' | [number, string] {
  const rule = CARD_POLICY[verb];
  const merchant = !caller.startsWith('staff');
  if (merchant && !rule.merchant) return [403, 'FORBIDDEN'];
  if (!merchant && !rule.staff.includes(caller.slice('staff '.length) as StaffRole))
    return [403, 'FORBIDDEN'];
  if (caller === 'other-program merchant') return [404, 'NOT_FOUND'];
  if (caller === 'same-program merchant' && rule.ownEntry) return [404, 'NOT_FOUND'];
  const allowed = rule.states[merchant ? 'merchant' : 'staff'].includes(state);
  const expiredRefused = rule.expiry === 'REFUSE' && state === 'EXPIRED';
  if (!allowed || expiredRefused) {
    const refusal = stateRefusal(verb, allowed ? 'EXPIRED' : state);
    return [refusal.status, refusal.code];
  }
  if (merchant && rule.pin === 'SPEND') {
    if (pinCase === 'no PIN given' || pinCase === 'no PIN set')
      return [ERROR_STATUS.PIN_REQUIRED, 'PIN_REQUIRED'];
    if (pinCase === 'wrong PIN') return [ERROR_STATUS.PIN_INVALID, 'PIN_INVALID'];
  }
  // Verb rules past the policy's: a PIN is changed only by who may (PIN_SET on a card without one).
  return 'OK';
}

interface Case {
  readonly verb: CardVerb;
  readonly caller: Caller;
  readonly state: CardState;
  readonly pinCase: PinCase;
}

/** PIN cases only where the PIN can decide: merchants who may see the card, on PIN-guarded verbs. */
const pinCases = (verb: CardVerb, caller: Caller): readonly PinCase[] =>
  CARD_POLICY[verb].pin === 'SPEND' && (caller === 'own merchant' || caller === 'same-program merchant')
    ? ['no PIN given', 'no PIN set', 'wrong PIN', 'right PIN']
    : ['-'];

const CASES: Case[] = HTTP_VERBS.flatMap((verb) =>
  CALLERS.flatMap((caller) =>
    CARD_STATES.flatMap((state) =>
      pinCases(verb, caller).map((pinCase) => ({ verb, caller, state, pinCase })),
    ),
  ),
);

async function seqOf(cardId: string): Promise<number | undefined> {
  const out = await client.send(
    new GetItemCommand({
      TableName: stack.tableName,
      Key: { PK: { S: `CARD#${cardId}` }, SK: { S: 'CARD' } },
      ConsistentRead: true,
    }),
  );
  return out.Item?.seq?.N === undefined ? undefined : Number(out.Item.seq.N);
}

async function run(c: Case): Promise<string | undefined> {
  // PIN_SET is tried on a card without a PIN (changing one is the current-PIN rule, test/e2e/pins).
  const noPin = c.pinCase === 'no PIN set' || c.verb === 'PIN_SET';
  const f = await fixture(c.state, noPin, c.verb === 'CAPTURE' || c.verb === 'VOID');
  const pin =
    c.pinCase === 'right PIN' || c.pinCase === 'no PIN set'
      ? PIN
      : c.pinCase === 'wrong PIN'
        ? '0000'
        : undefined;
  const answer = await send(c.verb, f, tokens[c.caller] as string, pin);
  const want = expected(c.verb, c.caller, c.state, c.pinCase);
  const got = answer.status < 300 ? 'OK' : [answer.status, answer.body.code];
  const label = `${c.verb} by ${c.caller} on ${c.state} (${c.pinCase})`;
  if (JSON.stringify(got) !== JSON.stringify(want))
    return `${label}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)} ${answer.body.detail ?? ''}`;
  const seq = await seqOf(f.card.id);
  if (want === 'OK' && seq === f.card.seq) return `${label}: answered OK but wrote no entry`;
  if (want !== 'OK' && seq !== f.card.seq)
    return `${label}: refused but the card moved from ${f.card.seq} to ${seq}`;
  return undefined;
}

describe('the card-verb policy, verb x caller x state x PIN', () => {
  it(`answers all ${CASES.length} cases as the policy says, and a refusal writes nothing`, async () => {
    expect(CASES.length).toBeGreaterThan(600);
    const failures: string[] = [];
    const queue = [...CASES];
    // A few cases at a time, each on its own card: bounded, whatever the machine's speed.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const failure = await run(next);
          if (failure) failures.push(failure);
        }
      }),
    );
    expect(failures).toEqual([]);
  }, 900_000);
});
