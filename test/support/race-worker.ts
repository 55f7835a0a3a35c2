/**
 * One "Lambda instance" for the cross-process race test: its own process, its own SDK client, no
 * memory shared with the others, so only DynamoDB's conditions stand between them and an overspend.
 * Usage (env as the handlers read it): tsx race-worker.ts <cardId> <count> <amount>
 */
import type { DomainError } from '../../functions/core/errors';
import { operateOnCard } from './cards';

const [cardId = '', count = '0', amount = '0'] = process.argv.slice(2);
const outcomes: Record<string, number> = {};
await Promise.all(
  Array.from({ length: Number(count) }, async () => {
    let outcome = 'OK';
    try {
      await operateOnCard(
        cardId,
        { type: 'REDEEM', amount: Number(amount) },
        {
          actor: { type: 'staff', id: `worker-${process.pid}`, role: 'support' },
          request: {},
          now: new Date(),
        },
        undefined,
        () => true,
      );
    } catch (error) {
      outcome = (error as DomainError).code ?? 'ERROR';
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }),
);
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
