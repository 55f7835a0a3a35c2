/**
 * One "Lambda instance" for the cross-process failed-check test: its own process and SDK client, so only
 * the counter's write condition stands between it and the others.
 * Usage (env as the handlers read it):
 *   tsx rate-limit-worker.ts <merchantId> <keyId> <count> <ownerCap> <callerCap> <now>
 * Counts <count> failures of key <keyId> of merchant <merchantId>, all at once, under those caps.
 */
import { countFailure } from '../../functions/store/failed-checks';

const [merchantId = '', keyId = '', count = '0', ownerCap = '1', callerCap = '1', now = '0'] =
  process.argv.slice(2);
const subject = { owner: `merchant#${merchantId}`, caller: `key#${keyId}`, merchantId };
const caps = { owner: Number(ownerCap), caller: Number(callerCap) };
const outcomes = { counted: 0, refused: 0 };
await Promise.all(
  Array.from({ length: Number(count) }, async () => {
    const outcome = await countFailure(subject, caps, caps.caller, Number(now));
    if (outcome.counted) outcomes.counted += 1;
    else outcomes.refused += 1;
  }),
);
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
