import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendPromotion } from '../../functions/app/promotions';
import { DomainError } from '../../functions/core/errors';
import { DEFAULT_TIERS } from '../../functions/core/loyalty-program';
import { createLoyaltyProgram } from '../../functions/store/loyalty-programs';
import { createMember } from '../../functions/store/members';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Promotions run in the request up to a bound of members: above it the request is refused with
 * LIMIT_EXCEEDED before anything is written (no promotion, no message), never sent to part of the
 * program. The bound is lowered for the test (MAX_PROMOTION_MEMBERS is 5,000).
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('promotion-bound');
  await testEnv();
});
afterAll(async () => table.drop());

const NOW = new Date();
const staff = { type: 'staff', id: 'care-1', role: 'support' } as const;
const input = { header: 'Double points', body: 'This weekend only', target: {}, maxPerMemberPerDay: 1 };

describe('promotion bound', () => {
  it('refuses a program above the bound with a clear error and writes nothing; at the bound it sends', async () => {
    const program = await createLoyaltyProgram(
      {
        name: 'Bound test',
        cardProgramIds: [],
        currency: 'USD',
        minorPerUnit: 100,
        earn: {
          pointsPerUnitRedeemed: 1,
          pointsPerUnitLoaded: 0,
          activationBonus: 0,
          firstUseBonus: 0,
          campaigns: [],
          dailyCapPoints: 0,
        },
        tiers: DEFAULT_TIERS,
        tierWindowDays: 365,
        pointValueMilliMinor: 1_000,
      },
      undefined,
      NOW,
    );
    for (let i = 0; i < 3; i++) {
      await createMember(
        {
          loyaltyProgramId: program.id,
          channel: 'EMAIL',
          contact: `bound-${i}-${NOW.getTime()}@example.com`,
          consent: { termsVersion: '2026-01', acceptedAt: NOW.toISOString(), marketing: true },
          tier: 'BASE',
        },
        undefined,
        NOW,
      );
    }
    const refusal = await sendPromotion(program.id, input, staff, undefined, NOW, { maxMembers: 2 }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 422 });
    expect((refusal as Error).message).toContain('more than 2 members');
    const promotions = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :promo)',
        ExpressionAttributeValues: { ':pk': { S: `LOYALTY#${program.id}` }, ':promo': { S: 'PROMO#' } },
      }),
    );
    expect(promotions.Items).toEqual([]);

    const sent = await sendPromotion(program.id, input, staff, undefined, NOW, { maxMembers: 3 });
    expect(sent.result.status).toBe('SENT');
    expect(sent.result.counts).toMatchObject({ targeted: 3, withoutCards: 3, delivered: 0 });
  });
});
