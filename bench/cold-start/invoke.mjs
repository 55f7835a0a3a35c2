/**
 * One cold start, in a fresh `node` process: import a bundled handler, serve one event, print timings.
 * Usage: node [--enable-source-maps] invoke.mjs <bundle.mjs> <event.json>
 * DynamoDB round trips of the first request are counted by wrapping http.request (the SDK's handler).
 * CPU time (user + system, process.cpuUsage) is printed beside the wall times: on a shared machine a
 * process waits for a core as well as for its round trips, and its own CPU time is what it costs.
 * With BENCH_PROFILE_PHASE=import|request and BENCH_PROFILE_OUT=<file>, only that phase is profiled
 * (through the inspector, in process) and its .cpuprofile written there.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';

const [bundle, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8').replaceAll('__IDEMPOTENCY_KEY__', randomUUID()));

let roundTrips = 0;
const original = http.request;
http.request = (...args) => {
  roundTrips += 1;
  return original(...args);
};
syncBuiltinESMExports();

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const phase = process.env.BENCH_PROFILE_PHASE;
const session = phase ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
}
const profileFrom = async (from) => {
  if (phase === from) await session?.post('Profiler.start');
};
const profileUntil = async (until) => {
  if (phase !== until || !session) return;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.BENCH_PROFILE_OUT, JSON.stringify(profile));
};
await profileFrom('import');
const cpuBeforeImport = cpuMs();
const beforeImport = performance.now();
const module = await import(pathToFileURL(bundle).href);
const afterImport = performance.now();
const cpuAfterImport = cpuMs();
await profileUntil('import');
await profileFrom('request');
const context = {
  functionName: 'bench',
  awsRequestId: randomUUID(),
  getRemainingTimeInMillis: () => 10_000,
  callbackWaitsForEmptyEventLoop: true,
};
let status;
try {
  const result = await module.handler(event, context);
  status =
    result?.statusCode ??
    (Array.isArray(result?.batchItemFailures)
      ? `batchItemFailures:${result.batchItemFailures.length}`
      : 'ok');
} catch (error) {
  // Still a cold start; the status says the request failed.
  status = `threw:${error?.name ?? 'Error'}`;
}
const done = performance.now();
const cpuDone = cpuMs();
await profileUntil('request');
process.stdout.write(
  `${JSON.stringify({
    nodeBootMs: beforeImport,
    importMs: afterImport - beforeImport,
    firstRequestMs: done - afterImport,
    sinceProcessStartMs: done,
    bootCpuMs: cpuBeforeImport,
    importCpuMs: cpuAfterImport - cpuBeforeImport,
    firstRequestCpuMs: cpuDone - cpuAfterImport,
    roundTrips,
    status,
  })}\n`,
);
process.exit(0);
