/**
 * Warm Apple pass build and sign: plan the pass.json of a card, then build the .pkpass (images,
 * manifest.json, the detached PKCS#7 signature over the manifest, the zip), many times in one warm
 * process. Baseline in the same run: one bare RSA-2048 SHA-256 signature with node:crypto and a parsed
 * key (the floor of any signed pass). Rounds interleave the two; the figures are medians of per-round p50s and ratios.
 * Knobs: BENCH_SIGN_ROUNDS (5), BENCH_SIGN_ITERATIONS (60 per round), BENCH_SIGN_WARMUP (20).
 */
import { createPrivateKey, createSign } from 'node:crypto';
import { applePassToken, planApplePass } from '../functions/core/apple-pass';
import type { Card } from '../functions/core/card';
import { buildApplePass } from '../functions/wallet/apple-pass-builder';
import { generateLocalAppleCertificates } from '../local/apple-certificates';
import { emit, knob, progress } from './lib/env';
import { codeState, machine } from './lib/machine';
import { elapsedMs, median, ratio, round, summarize } from './lib/stats';

const ROUNDS = knob('SIGN_ROUNDS', 5);
const ITERATIONS = knob('SIGN_ITERATIONS', 60);
const WARMUP = knob('SIGN_WARMUP', 20);

const chain = generateLocalAppleCertificates({
  passTypeIdentifier: 'pass.bench.giftcard',
  teamIdentifier: 'BENCH12345',
});
const card: Card = {
  id: 'gc_0123456789abcdefghjkmnpqrs',
  programId: 'prg_bench',
  type: 'DIGITAL',
  status: 'ACTIVE',
  currency: 'USD',
  balance: 4250,
  available: 4250,
  last4: '1486',
  seq: 3,
  createdAt: '2026-11-01T10:00:00.000Z',
  updatedAt: '2026-11-20T10:00:00.000Z',
  activatedAt: '2026-11-01T10:00:00.000Z',
};
const settings = {
  passTypeIdentifier: chain.certificates.passTypeIdentifier,
  teamIdentifier: chain.certificates.teamIdentifier,
  webServiceURL: 'https://wallet.example.com/wallet/apple',
  authenticationToken: applePassToken('bench-secret-bench-secret', card.id),
};

const buildOnce = () =>
  buildApplePass(
    planApplePass(card, { name: 'Bench program' }, undefined, settings, new Date()),
    chain.certificates,
  );
const floorKey = createPrivateKey(chain.certificates.signerKey);
const floorOnce = () => createSign('sha256').update(Buffer.alloc(1024, 7)).sign(floorKey);

function sample(work: () => unknown, count: number): number[] {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    work();
    samples.push(elapsedMs(start));
  }
  return samples;
}

sample(buildOnce, WARMUP);
sample(floorOnce, WARMUP);
const rounds: { build: number; floor: number; ratio: number; buildP99: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const build = summarize(sample(buildOnce, ITERATIONS));
  const floor = summarize(sample(floorOnce, ITERATIONS));
  rounds.push({ build: build.p50, floor: floor.p50, ratio: build.p50 / floor.p50, buildP99: build.p99 });
  progress(`round ${r + 1}: build p50 ${round(build.p50)} ms, RSA sign p50 ${round(floor.p50)} ms`);
}

emit({
  benchmark: 'pass-sign',
  machine: machine(),
  code: codeState(),
  passBytes: buildOnce().length,
  buildAndSignP50Ms: round(median(rounds.map((r) => r.build))),
  buildAndSignP99Ms: round(median(rounds.map((r) => r.buildP99))),
  rsaSignP50Ms: round(median(rounds.map((r) => r.floor))),
  ratioToRsaSign: ratio(median(rounds.map((r) => r.ratio)), 1),
  goal: 'warm build and sign p50 < 5 ms',
  rounds: rounds.map((r) => ({ build: round(r.build), floor: round(r.floor) })),
});
