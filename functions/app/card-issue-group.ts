import type { IssueInput, OperationContext } from '../core/card';
import { planIssue } from '../core/card';
import { cardIdForCode, generateCode, last4 } from '../core/card-code';
import type { Program } from '../core/program';
import type { Committed } from '../store/card-commit';
import { entryPut, newCardPut } from '../store/card-items';
import { MAX_TRANSACT_ITEMS, writeAllOrNothing } from '../store/group-write';
import { type IdempotencyClaim, idempotencyPut } from '../store/idempotency';
import { countIssuedCards, IssueShards } from '../store/issued-cards';
import { codePeppers } from '../store/secrets';
import { backoff, type TransactItem } from '../store/transact';
import { type IssuedCard, issueCard } from './card-issue';

/** Tries of a group whose transaction met another one before its cards go one by one. */
const GROUP_ATTEMPTS = 4;

export interface GroupMember {
  readonly input: Omit<IssueInput, 'cardId' | 'last4' | 'pepperId'>;
  readonly claim: IdempotencyClaim;
  readonly alongside?: (issued: IssuedCard, program: Program) => Promise<TransactItem[]>;
}

/**
 * Issues several cards of one program in ONE transaction (a bulk batch's rows): each card exactly as
 * issueCard writes it (planIssue, its entries, its idempotency record), counted together in one shard.
 * A transaction per card is what DynamoDB charges per write either way; one per group saves the round
 * trips and the per-transaction overhead that bound a 100,000-row batch. When the group cannot commit
 * whole (a row already issued by an earlier run of its chunk, a code collision, a full shard, a
 * conflict), every member goes through issueCard on its own, which replays or issues each exactly once.
 */
export async function issueCardGroup(
  program: Program,
  members: readonly GroupMember[],
  context: OperationContext,
  shardHint?: number,
): Promise<Committed<IssuedCard>[]> {
  for (let attempt = 0; attempt < GROUP_ATTEMPTS; attempt++) {
    // The first try on the caller's shard (concurrent groups each keep their own), retries on any.
    const planned = await planGroup(program, members, context, attempt === 0 ? shardHint : undefined);
    if (!planned) break;
    const outcome = await writeAllOrNothing(planned.items);
    if (outcome === 'committed') return planned.results.map((result) => ({ result, replayed: false }));
    if (outcome === 'refused') break;
    // Another group held the shard's counter: again, most likely on another shard.
    await backoff(attempt);
  }
  return Promise.all(
    members.map((member) =>
      issueCard(program.id, member.input, context, member.claim, () => true, member.alongside),
    ),
  );
}

/** The group's items, or undefined when it would not fit one transaction (then it goes card by card). */
async function planGroup(
  program: Program,
  members: readonly GroupMember[],
  context: OperationContext,
  shardHint: number | undefined,
) {
  const peppers = await codePeppers();
  // After a pepper rotation each code is also checked under the older peppers: too many items for a group.
  if (peppers.lookupOrder.length > 1) return undefined;
  const shard = new IssueShards(program.id, program.maxCards).pick(shardHint);
  if (shard === undefined) return undefined;
  const items: TransactItem[] = [countIssuedCards(program.id, shard, program.maxCards, members.length)];
  const results: IssuedCard[] = [];
  for (const member of members) {
    const code = generateCode(program.codeFormat);
    const cardId = cardIdForCode(code, peppers.current.value);
    const plan = planIssue(
      program,
      { ...member.input, cardId, last4: last4(code), pepperId: peppers.current.id },
      context,
    );
    const result: IssuedCard = { card: plan.card, code, transactions: plan.entries };
    items.push(
      newCardPut(plan.card),
      ...plan.entries.map(entryPut),
      (await idempotencyPut(member.claim, result, context.now)) as TransactItem,
      ...(member.alongside ? await member.alongside(result, program) : []),
    );
    results.push(result);
  }
  return items.length <= MAX_TRANSACT_ITEMS ? { items, results } : undefined;
}
