import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';
import { issuedCountKey, programKey } from './keys';
import type { TransactItem } from './transact';

/**
 * How many cards a program has issued, counted so that the count never passes the program's maxCards
 * (its code format keeps 10^9 unissued codes per issued code only up to there). The count is spread over
 * ISSUE_COUNT_SHARDS counter items, each allowed its share of maxCards; issuing a card adds one to a
 * shard in the issuing transaction, under the condition that the shard has room. The shares add up to
 * maxCards exactly, so the total cannot pass it, and parallel issues rarely touch the same item.
 */
export const ISSUE_COUNT_SHARDS = 16;

/** Shard `shard`'s part of maxCards: an even split, the remainder going to the first shards. */
export function shardShare(maxCards: number, shard: number): number {
  const base = Math.floor(maxCards / ISSUE_COUNT_SHARDS);
  return base + (shard < maxCards % ISSUE_COUNT_SHARDS ? 1 : 0);
}

/** The update that counts one issued card in a shard; its condition fails when the shard is full. */
export function countIssuedCard(programId: string, shard: number, maxCards: number): TransactItem {
  return {
    Update: {
      TableName: tableName(),
      Key: issuedCountKey(programId, shard),
      UpdateExpression: 'ADD issued :one',
      // Guarantees: the shards together never count more than maxCards issued cards.
      ConditionExpression: 'attribute_not_exists(issued) OR issued < :share',
      ExpressionAttributeValues: { ':one': 1, ':share': shardShare(maxCards, shard) },
    },
  };
}

/** Cards issued so far, per shard (shards never written count 0). */
export async function issuedCounts(programId: string): Promise<number[]> {
  const counts = Array.from({ length: ISSUE_COUNT_SHARDS }, () => 0);
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :issued)',
      ExpressionAttributeValues: { ':pk': programKey(programId).PK, ':issued': 'ISSUED#' },
      ConsistentRead: true,
    }),
  );
  for (const item of out.Items ?? []) {
    const shard = Number(String(item.SK).slice('ISSUED#'.length));
    if (Number.isInteger(shard) && shard >= 0 && shard < ISSUE_COUNT_SHARDS)
      counts[shard] = Number(item.issued ?? 0);
  }
  return counts;
}

export async function issuedCardCount(programId: string): Promise<number> {
  return (await issuedCounts(programId)).reduce((sum, count) => sum + count, 0);
}

/**
 * Which shard the next issue counts in: a random one among those that may still have room. A shard
 * found full is dropped; the first time that happens the counts are read once, so a nearly full program
 * costs one query rather than a failed write per full shard.
 */
export class IssueShards {
  private candidates: number[];
  private countsRead = false;

  constructor(
    private readonly programId: string,
    private readonly maxCards: number,
    private readonly random: () => number = Math.random,
  ) {
    this.candidates = Array.from({ length: ISSUE_COUNT_SHARDS }, (_, shard) => shard).filter(
      (shard) => shardShare(maxCards, shard) > 0,
    );
  }

  /** A random shard with room, or `preferred` when it has room (concurrent writers that each keep one). */
  pick(preferred?: number): number | undefined {
    if (this.candidates.length === 0) return undefined;
    if (preferred !== undefined && this.candidates.includes(preferred)) return preferred;
    return this.candidates[Math.floor(this.random() * this.candidates.length)];
  }

  async full(shard: number): Promise<void> {
    this.candidates = this.candidates.filter((candidate) => candidate !== shard);
    if (this.countsRead || this.candidates.length === 0) return;
    this.countsRead = true;
    const counts = await issuedCounts(this.programId);
    this.candidates = this.candidates.filter(
      (candidate) => (counts[candidate] ?? 0) < shardShare(this.maxCards, candidate),
    );
  }

  get exhausted(): boolean {
    return this.candidates.length === 0;
  }
}

/**
 * The update that counts `count` cards issued together (a bulk group) in one shard; its condition fails
 * when the shard has no room for all of them.
 */
export function countIssuedCards(
  programId: string,
  shard: number,
  maxCards: number,
  count: number,
): TransactItem {
  const share = shardShare(maxCards, shard);
  return {
    Update: {
      TableName: tableName(),
      Key: issuedCountKey(programId, shard),
      UpdateExpression: 'ADD issued :count',
      // Guarantees: the shards together never count more than maxCards issued cards.
      ConditionExpression: '(attribute_not_exists(issued) AND :count <= :share) OR issued <= :room',
      ExpressionAttributeValues: { ':count': count, ':share': share, ':room': share - count },
    },
  };
}
