import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';
import { programCardsIndexPk, programCardsIndexSk } from './keys';
import { batchGet } from './listing';
import { listPrograms } from './programs';

/**
 * Gives cards written before the last-4 search their last-4 sort key in GSI1 (store/card-search.ts):
 * until then a card's key there was its id alone. Walks each program's partition of GSI1 and rewrites
 * each old key with one conditional update (on the old key: a card written since carries the new key).
 *
 * Idempotent: a card with the new key is left alone. Resumable: the position in each program's partition
 * is checkpointed after every page (`JOB#last4-index-backfill`); `restart` walks everything again.
 */
export interface Last4BackfillProgress {
  readonly programId: string;
  readonly examined: number;
  readonly rewritten: number;
  readonly done: boolean;
}

const CHECKPOINT_PK = 'JOB#last4-index-backfill';
const PAGE_SIZE = 100;
const MAX_PROGRAMS = 10_000;
const checkpointKey = (programId: string) => ({ PK: CHECKPOINT_PK, SK: `PROGRAM#${programId}` });
/** A key written before the backfill: the card id alone, no `<last4>#`. */
const isOldKey = (sortKey: string) => !sortKey.includes('#');

async function readCheckpoint(programId: string) {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: checkpointKey(programId), ConsistentRead: true }),
  );
  const item = out.Item as { start?: Record<string, unknown>; done?: boolean } | undefined;
  return { start: item?.start, done: item?.done === true };
}

async function writeCheckpoint(programId: string, start: Record<string, unknown> | undefined) {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...checkpointKey(programId), ...(start ? { start } : {}), done: start === undefined },
    }),
  );
}

async function rewrite(key: { PK: string; SK: string }, oldSortKey: string, last4: string, id: string) {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: key,
        UpdateExpression: 'SET GSI1SK = :sk',
        // Guarantees: only a card still under its old key is touched.
        ConditionExpression: 'GSI1SK = :old',
        ExpressionAttributeValues: { ':sk': programCardsIndexSk({ last4, id }), ':old': oldSortKey },
      }),
    );
    return 1;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 0;
    throw error;
  }
}

async function backfillProgram(programId: string, restart: boolean, pageSize: number) {
  const checkpoint = restart ? { start: undefined, done: false } : await readCheckpoint(programId);
  const counts = { programId, examined: 0, rewritten: 0, done: checkpoint.done };
  let start = checkpoint.start;
  while (!counts.done) {
    const page = await db().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': programCardsIndexPk(programId) },
        Limit: pageSize,
        ExclusiveStartKey: start,
      }),
    );
    const old = (page.Items ?? []).filter((item) => isOldKey(String(item.GSI1SK)));
    const cards = await batchGet(old.map((item) => ({ PK: String(item.PK), SK: String(item.SK) })));
    for (const item of old) {
      const card = cards.get(`${item.PK}|${item.SK}`);
      if (!card) continue;
      const key = { PK: String(item.PK), SK: String(item.SK) };
      counts.rewritten += await rewrite(key, String(item.GSI1SK), String(card.last4), String(card.id));
    }
    counts.examined += page.Items?.length ?? 0;
    start = page.LastEvaluatedKey;
    await writeCheckpoint(programId, start);
    counts.done = start === undefined;
  }
  return counts;
}

export async function backfillLast4Index(
  options: {
    readonly restart?: boolean;
    readonly pageSize?: number;
    readonly onProgress?: (progress: Last4BackfillProgress) => void;
  } = {},
): Promise<Last4BackfillProgress[]> {
  const totals: Last4BackfillProgress[] = [];
  let cursor: string | undefined;
  do {
    const programs = await listPrograms(200, cursor);
    for (const program of programs.items) {
      const counts = await backfillProgram(
        program.id,
        options.restart ?? false,
        options.pageSize ?? PAGE_SIZE,
      );
      options.onProgress?.(counts);
      totals.push(counts);
    }
    cursor = programs.nextCursor ?? undefined;
  } while (cursor && totals.length < MAX_PROGRAMS);
  return totals;
}
