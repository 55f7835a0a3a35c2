import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';
import { decodeCursorWhere, encodeCursor, type Page } from './pagination';

type Key = { PK: string; SK: string };

/**
 * Lists through a KEYS_ONLY index: one Query for a page of keys, one BatchGet for the items
 * (in index order). Keeping the indexes keys-only means balance changes never write to them.
 */
export async function listByIndex<T>(
  indexName: 'GSI1' | 'GSI2' | 'GSI3',
  partition: string,
  options: { limit: number; cursor?: string; newestFirst?: boolean; sortKeyPrefix?: string },
  toDomain: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const pkName = `${indexName}PK`;
  const prefix = options.sortKeyPrefix;
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: indexName,
      KeyConditionExpression: prefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: {
        '#pk': pkName,
        ...(prefix === undefined ? {} : { '#sk': `${indexName}SK` }),
      },
      ExpressionAttributeValues: { ':pk': partition, ...(prefix === undefined ? {} : { ':prefix': prefix }) },
      Limit: options.limit,
      ScanIndexForward: !(options.newestFirst ?? true),
      // A cursor of this partition, and within the prefix when there is one.
      ExclusiveStartKey: decodeCursorWhere(
        options.cursor,
        (key) =>
          key[pkName] === partition &&
          (prefix === undefined || (key[`${indexName}SK`] ?? '').startsWith(prefix)),
      ),
    }),
  );
  const keys = (out.Items ?? []).map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
  const items = await batchGet(keys);
  return {
    items: keys.flatMap((key) => {
      const item = items.get(`${key.PK}|${key.SK}`);
      return item ? [toDomain(item)] : [];
    }),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

/**
 * BatchGetItem in chunks of 100, following UnprocessedKeys; with `attributes`, only those (and the keys)
 * are read.
 */
export async function batchGet(
  keys: Key[],
  attributes: readonly string[] = [],
): Promise<Map<string, Record<string, unknown>>> {
  const names = Object.fromEntries(['PK', 'SK', ...attributes].map((name, at) => [`#a${at}`, name]));
  const projection =
    attributes.length === 0
      ? {}
      : { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names };
  const found = new Map<string, Record<string, unknown>>();
  for (let start = 0; start < keys.length; start += 100) {
    let pending: Key[] = keys.slice(start, start + 100);
    for (let attempt = 0; pending.length > 0 && attempt < 8; attempt++) {
      const out = await db().send(
        new BatchGetCommand({ RequestItems: { [tableName()]: { Keys: pending, ...projection } } }),
      );
      for (const item of out.Responses?.[tableName()] ?? []) found.set(`${item.PK}|${item.SK}`, item);
      pending = (out.UnprocessedKeys?.[tableName()]?.Keys as Key[] | undefined) ?? [];
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
    }
    if (pending.length > 0) throw new Error('BatchGetItem left keys unprocessed after retries');
  }
  return found;
}
