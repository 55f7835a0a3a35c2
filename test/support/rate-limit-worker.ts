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

/**
 * DynamoDB Local answers a write that waited too long for its item lock with a 500 ("This request will
 * succeed in actual DynamoDB API") and writes nothing; with 300 writers on one item and a second test file
 * running, it happens. Such a write is sent again; any other error fails the test.
 */
async function countOnce(): ReturnType<typeof countFailure> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await countFailure(subject, caps, caps.caller, Number(now));
    } catch (error) {
      const lockTimeout = error instanceof Error && /waiting for a lock/.test(error.message);
      if (!lockTimeout || attempt === 10) throw error;
    }
  }
}

await Promise.all(
  Array.from({ length: Number(count) }, async () => {
    const outcome = await countOnce();
    if (outcome.counted) outcomes.counted += 1;
    else outcomes.refused += 1;
  }),
);
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
