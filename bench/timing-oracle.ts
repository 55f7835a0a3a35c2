/**
 * Timing oracle: can a merchant tell, by how long `POST /v1/cards/lookup` takes, an unknown code from a
 * card it may not see, a wrong PIN, a missing PIN or a locked PIN? All of them answer the same 404; this
 * checks that they also take the same time, through the whole local stack (HTTP server, handler,
 * DynamoDB Local), over thousands of lookups sent one at a time in a random interleaved order, so the
 * machine's noise falls on every class alike.
 *
 * Classes are compared within one request shape, because the caller chooses the shape and so an oracle
 * can only live inside one: lookups WITH a PIN (unknown code, another tenant's card, wrong PIN, locked
 * PIN) and lookups WITHOUT one (unknown code, another tenant's card, a PIN card without its PIN). A hit
 * of each shape is measured as a reference (it answers 200 and is expected to differ).
 *
 * For every pair of failure classes of a shape: Mann-Whitney U and Kolmogorov-Smirnov, and a verdict at
 * alpha 0.001 shared out over the comparisons (Bonferroni). Prints one JSON object. Never a test: the
 * figures depend on the machine; compare classes of the same run only.
 *
 * TIMING_SAMPLES (default 400) lookups per class.
 */
import { randomInt } from 'node:crypto';
import { luhnCheckDigit } from '../functions/core/card-code';
import { jsonClient } from './lib/http-client';
import { startBenchStack } from './lib/local';
import { machine } from './lib/machine';
import { elapsedMs, round, summarize } from './lib/stats';
import { kolmogorovSmirnov, mannWhitney } from './lib/two-sample';

const SAMPLES = Number(process.env.TIMING_SAMPLES ?? 400);
const ALPHA = 0.001;
const PIN = '4827';
const WRONG_PIN = '9153';
/** Wrong PINs a card takes before a right one gives its attempts back (5 would lock it). */
const WRONG_BEFORE_RESET = 4;

type Shape = 'withPin' | 'withoutPin';
interface LookupClass {
  readonly name: string;
  readonly shape: Shape;
  readonly reference?: true;
  readonly expectStatus: number;
}

const CLASSES: readonly LookupClass[] = [
  { name: 'unknownCode+pin', shape: 'withPin', expectStatus: 404 },
  { name: 'otherTenant+pin', shape: 'withPin', expectStatus: 404 },
  { name: 'wrongPin', shape: 'withPin', expectStatus: 404 },
  { name: 'lockedPin', shape: 'withPin', expectStatus: 404 },
  { name: 'hit+pin', shape: 'withPin', reference: true, expectStatus: 200 },
  { name: 'unknownCode', shape: 'withoutPin', expectStatus: 404 },
  { name: 'otherTenant', shape: 'withoutPin', expectStatus: 404 },
  { name: 'missingPin', shape: 'withoutPin', expectStatus: 404 },
  { name: 'hit', shape: 'withoutPin', reference: true, expectStatus: 200 },
];

const stack = await startBenchStack();
const client = jsonClient(stack.baseUrl);
const admin = stack.staffTokens.admin as string;

async function created(path: string, body: unknown, token = admin) {
  const answer = await client.call('POST', path, { token, body });
  if (answer.status !== 201)
    throw new Error(`POST ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function issue(programId: string): Promise<{ id: string; code: string }> {
  const body = await created('/v1/cards', { programId, type: 'DIGITAL', amount: 1000, activate: true });
  return { id: body.card.id, code: body.code };
}

async function setPin(cardId: string): Promise<void> {
  const answer = await client.call('PUT', `/v1/cards/${cardId}/pin`, { token: admin, body: { pin: PIN } });
  if (answer.status !== 200) throw new Error(`setting a PIN answered ${answer.status}`);
}

// A PIN program the demo merchant belongs to, and another tenant: a merchant with a program of its own.
const pinProgram = await created('/v1/programs', { name: 'PIN cards', currency: 'USD', pinPolicy: 'ALWAYS' });
const patched = await client.call('PATCH', `/v1/merchants/${stack.merchantId}`, {
  token: admin,
  body: { programs: [stack.programId, pinProgram.id] },
});
if (patched.status !== 200) throw new Error(`adding the PIN program answered ${patched.status}`);
const otherProgram = await created('/v1/programs', { name: 'Other tenant', currency: 'USD' });
await created('/v1/merchants', { name: 'Other tenant', programs: [otherProgram.id] });

const hitCard = await issue(stack.programId);
const otherCard = await issue(otherProgram.id);
const wrongPinCards = await Promise.all(Array.from({ length: 20 }, () => issue(pinProgram.id)));
const lockedCards = await Promise.all(Array.from({ length: 5 }, () => issue(pinProgram.id)));
for (const card of [...wrongPinCards, ...lockedCards]) await setPin(card.id);

const lookup = (body: Record<string, string>) =>
  client.call('POST', '/v1/cards/lookup', { token: stack.apiKey, body, idempotencyKey: false });
for (const card of lockedCards) {
  for (let i = 0; i < 5; i++) await lookup({ code: card.code, pin: WRONG_PIN });
}

/** A code of the demo program's format (region prefix, random digits, Luhn) that names no card. */
function unknownCode(): string {
  const digits = Array.from({ length: hitCard.code.length - 2 }, () => String(randomInt(10))).join('');
  const payload = `${hitCard.code[0]}${digits}`;
  return `${payload}${luhnCheckDigit(payload)}`;
}

const wrongTries = new Map<string, number>();
let wrongIndex = 0;
let lockedIndex = 0;
async function send(name: string): Promise<{ ms: number; status: number }> {
  let body: Record<string, string>;
  switch (name) {
    case 'unknownCode+pin':
      body = { code: unknownCode(), pin: WRONG_PIN };
      break;
    case 'otherTenant+pin':
      body = { code: otherCard.code, pin: WRONG_PIN };
      break;
    case 'wrongPin': {
      const card = wrongPinCards[wrongIndex++ % wrongPinCards.length] as { id: string; code: string };
      const tries = wrongTries.get(card.id) ?? 0;
      if (tries >= WRONG_BEFORE_RESET) {
        // Not measured: a right PIN gives the card its attempts back, so it never locks.
        await lookup({ code: card.code, pin: PIN });
        wrongTries.set(card.id, 0);
      }
      wrongTries.set(card.id, (wrongTries.get(card.id) ?? 0) + 1);
      body = { code: card.code, pin: WRONG_PIN };
      break;
    }
    case 'lockedPin':
      body = {
        code: (lockedCards[lockedIndex++ % lockedCards.length] as { code: string }).code,
        pin: WRONG_PIN,
      };
      break;
    case 'hit+pin':
      body = { code: (wrongPinCards[0] as { code: string }).code, pin: PIN };
      wrongTries.set((wrongPinCards[0] as { id: string }).id, 0);
      break;
    case 'unknownCode':
      body = { code: unknownCode() };
      break;
    case 'otherTenant':
      body = { code: otherCard.code };
      break;
    case 'missingPin':
      body = { code: (lockedCards[0] as { code: string }).code };
      break;
    default:
      body = { code: hitCard.code };
  }
  const start = process.hrtime.bigint();
  const answer = await lookup(body);
  return { ms: elapsedMs(start), status: answer.status };
}

// Warm-up: every path once or twice, so module loading and JIT fall outside the samples.
for (let i = 0; i < 3; i++) for (const entry of CLASSES) await send(entry.name);

const schedule = CLASSES.flatMap((entry) => Array<string>(SAMPLES).fill(entry.name));
for (let i = schedule.length - 1; i > 0; i--) {
  const j = randomInt(i + 1);
  [schedule[i], schedule[j]] = [schedule[j] as string, schedule[i] as string];
}
const samples: Record<string, number[]> = Object.fromEntries(CLASSES.map((entry) => [entry.name, []]));
const unexpected: Record<string, Record<number, number>> = {};
const started = Date.now();
for (const name of schedule) {
  const { ms, status } = await send(name);
  const expected = CLASSES.find((entry) => entry.name === name)?.expectStatus;
  if (status !== expected) {
    const counts = unexpected[name] ?? {};
    counts[status] = (counts[status] ?? 0) + 1;
    unexpected[name] = counts;
    continue;
  }
  samples[name]?.push(ms);
}

const comparisons: { shape: Shape; a: string; b: string }[] = [];
for (const shape of ['withPin', 'withoutPin'] as const) {
  const failures = CLASSES.filter((entry) => entry.shape === shape && !entry.reference).map(
    (entry) => entry.name,
  );
  for (let i = 0; i < failures.length; i++)
    for (let j = i + 1; j < failures.length; j++)
      comparisons.push({ shape, a: failures[i] as string, b: failures[j] as string });
}
const alpha = ALPHA / comparisons.length;
const tests = comparisons.map(({ shape, a, b }) => {
  const left = samples[a] ?? [];
  const right = samples[b] ?? [];
  const mw = mannWhitney(left, right);
  const ks = kolmogorovSmirnov(left, right);
  const medianGapMs = round(summarize(left).p50 - summarize(right).p50);
  return {
    shape,
    pair: `${a} vs ${b}`,
    medianGapMs,
    mannWhitney: { z: round(mw.z, 2), p: Number(mw.p.toPrecision(3)), auc: round(mw.auc, 3) },
    kolmogorovSmirnov: { d: round(ks.d, 3), p: Number(ks.p.toPrecision(3)) },
    distinguishable: mw.p < alpha || ks.p < alpha,
  };
});

const gaps = tests.filter((test) => test.distinguishable).map((test) => test.pair);
client.close();
await stack.stop();
console.log(
  JSON.stringify(
    {
      machine: machine(),
      samplesPerClass: SAMPLES,
      seconds: Math.round((Date.now() - started) / 1000),
      alpha: { family: ALPHA, perComparison: Number(alpha.toPrecision(3)) },
      classes: Object.fromEntries(CLASSES.map((entry) => [entry.name, summarize(samples[entry.name] ?? [])])),
      ...(Object.keys(unexpected).length > 0 ? { unexpectedStatuses: unexpected } : {}),
      tests,
      verdict:
        gaps.length === 0
          ? 'no measurable gap between failure classes of the same request shape'
          : `timing gap: ${gaps.join('; ')}`,
    },
    null,
    2,
  ),
);
