import { CARD_WRITE_BUDGET_MS } from '../config';
import type { Card, IssueInput, OperationContext } from '../core/card';
import { planIssue } from '../core/card';
import { cardIdForCode, generateCode, last4 } from '../core/card-code';
import { DomainError, notFound } from '../core/errors';
import type { LedgerEntry } from '../core/ledger';
import type { Program } from '../core/program';
import { requestClock } from '../core/request-clock';
import type { Committed } from '../store/card-commit';
import { codeNotIssuedCheck, entryPut, newCardPut } from '../store/card-items';
import { findReplay, type IdempotencyClaim } from '../store/idempotency';
import { countIssuedCard, IssueShards } from '../store/issued-cards';
import { getProgram } from '../store/programs';
import { codePeppers } from '../store/secrets';
import { backoff, keyInProgress, type TransactItem, writeAtomically } from '../store/transact';

export interface IssuedCard {
  readonly card: Card;
  readonly code: string;
  readonly transactions: LedgerEntry[];
}

const MAX_CODE_ATTEMPTS = 5;

/**
 * Primary course: draw a fresh code, derive the card id from it with the current pepper, and write the
 * card with its first ledger entries in one transaction, which also counts the card against the
 * program's maxCards and checks that no card has the code under an older pepper. A code that is already
 * taken fails the transaction and another is drawn; a full count shard sends the card to another shard;
 * when every shard is full the program has issued all the cards it may (LIMIT_EXCEEDED).
 */
export async function issueCard(
  programId: string,
  input: Omit<IssueInput, 'cardId' | 'last4' | 'pepperId'>,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  programVisible: (program: Program) => boolean,
  /** Items written in the same transaction as the card (an e-gift's delivery), after its entries. */
  alongside?: (issued: IssuedCard, program: Program) => Promise<TransactItem[]>,
): Promise<Committed<IssuedCard>> {
  const program = await getProgram(programId, { cached: true }).catch((error: unknown) => {
    throw error instanceof DomainError ? notFound('The program') : error;
  });
  if (!programVisible(program)) throw notFound('The program');
  const peppers = await codePeppers();
  const shards = new IssueShards(program.id, program.maxCards);
  const deadline = Date.now() + CARD_WRITE_BUDGET_MS;
  const earlier = async () => {
    const found = claim ? await findReplay<IssuedCard>(claim, context.now) : undefined;
    return found === undefined ? undefined : { result: found, replayed: true };
  };
  const clock = requestClock(context.now);
  let collisions = 0;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const shard = shards.pick();
    if (shard === undefined) break;
    const code = generateCode(program.codeFormat);
    const cardId = cardIdForCode(code, peppers.current.value);
    let planned: { card: Card; entries: LedgerEntry[] };
    try {
      planned = planIssue(
        program,
        { ...input, cardId, last4: last4(code), pepperId: peppers.current.id },
        { ...context, now: clock() },
      );
    } catch (error) {
      const replay = await earlier();
      if (replay) return replay;
      throw error;
    }
    // The same code under an older pepper is another card's: the new one must not shadow it.
    const olderIds = [
      ...new Set(peppers.lookupOrder.slice(1).map((pepper) => cardIdForCode(code, pepper.value))),
    ].filter((id) => id !== cardId);
    const result: IssuedCard = { card: planned.card, code, transactions: planned.entries };
    const outcome = await writeAtomically(
      [
        newCardPut(planned.card),
        countIssuedCard(program.id, shard, program.maxCards),
        ...olderIds.map(codeNotIssuedCheck),
        ...planned.entries.map(entryPut),
        ...(alongside ? await alongside(result, program) : []),
      ],
      { claim, result, now: context.now },
    );
    if (outcome.kind === 'committed') return { result, replayed: false };
    if (outcome.kind === 'replayed') return { result: outcome.result, replayed: true };
    if (outcome.kind === 'key-busy') throw keyInProgress();
    const failed = (index: number) => outcome.reasons[index]?.code === 'ConditionalCheckFailed';
    if (failed(0) || olderIds.some((_, index) => failed(2 + index))) {
      if (++collisions >= MAX_CODE_ATTEMPTS) throw new Error('Could not draw an unused card code');
    } else if (failed(1)) {
      await shards.full(shard);
    } else {
      // Another issue held one of the items (TransactionConflict): try again, likely on another shard.
      await backoff(attempt);
    }
  }
  const replay = await earlier();
  if (replay) return replay;
  if (shards.exhausted) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      `This program has issued the most cards it may (maxCards ${program.maxCards}); raising maxCards needs a code format long enough for it.`,
    );
  }
  if (claim) throw keyInProgress();
  throw new DomainError('CONFLICT', 'Cards are being issued in this program too fast; retry the request.');
}
