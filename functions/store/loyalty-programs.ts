import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config';
import { notFound } from '../core/errors';
import { newId } from '../core/ids';
import type { LoyaltyProgram, LoyaltyProgramInput } from '../core/loyalty-program';
import { TtlCache } from './cache';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { LOYALTY_PROGRAMS_INDEX_PK, loyaltyProgramKey, withoutLayout } from './keys';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { keyInProgress, writeAtomically } from './transact';

/** Loyalty programs: one item each, listed through GSI1 (LOYALTYPROGRAMS / <id>). */
const cache = new TtlCache<LoyaltyProgram>(() => config().REFERENCE_CACHE_SECONDS * 1000);

export async function createLoyaltyProgram(
  input: LoyaltyProgramInput,
  claim: IdempotencyClaim | undefined,
  now = new Date(),
): Promise<LoyaltyProgram> {
  const program: LoyaltyProgram = {
    id: newId('lp', now),
    ...input,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            ...loyaltyProgramKey(program.id),
            GSI1PK: LOYALTY_PROGRAMS_INDEX_PK,
            GSI1SK: program.id,
            ...program,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
    ],
    { claim, result: program, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') throw new Error('Loyalty program id collided');
  return program;
}

export async function findLoyaltyProgram(
  id: string,
  options: { readonly cached?: boolean } = {},
): Promise<LoyaltyProgram | undefined> {
  if (options.cached) {
    const hit = cache.get(id);
    if (hit) return hit;
  }
  const out = await db().send(new GetCommand({ TableName: tableName(), Key: loyaltyProgramKey(id) }));
  if (!out.Item) return undefined;
  const program = withoutLayout<LoyaltyProgram>(out.Item);
  cache.set(id, program);
  return program;
}

export async function getLoyaltyProgram(
  id: string,
  options: { readonly cached?: boolean } = {},
): Promise<LoyaltyProgram> {
  const program = await findLoyaltyProgram(id, options);
  if (!program) throw notFound('The loyalty program');
  return program;
}

export function listLoyaltyPrograms(
  limit: number,
  cursor: string | undefined,
): Promise<Page<LoyaltyProgram>> {
  return listByIndex('GSI1', LOYALTY_PROGRAMS_INDEX_PK, { limit, ...(cursor ? { cursor } : {}) }, (item) =>
    withoutLayout<LoyaltyProgram>(item),
  );
}

/** Every loyalty program (reports, sweeps): bounded, programs are few. */
export async function allLoyaltyPrograms(): Promise<LoyaltyProgram[]> {
  const programs: LoyaltyProgram[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const out = await listLoyaltyPrograms(200, cursor);
    programs.push(...out.items);
    if (!out.nextCursor) break;
    cursor = out.nextCursor;
  }
  return programs;
}
