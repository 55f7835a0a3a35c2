import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';
import { backoff } from './transact';

/**
 * Strongly consistent single-item reads that go out together, as one BatchGetItem: a limited lookup's
 * card read joins the read of its caller's failed-check counts, so the limit costs no second request.
 * `readItemInBatch` opens a batch that leaves at the end of the current turn of the event loop;
 * `readItem` joins a batch that is still open, and otherwise is a plain GetItem sent at once (so reads
 * with nothing to join, a redemption's card read, wait for nothing). A key asked twice in a batch is read
 * once. A batch reads strongly consistent; a read that asked for less (`consistent: false`) and joins one
 * gets more than it asked for.
 */
type Key = Readonly<Record<string, string>>;
type Item = Record<string, unknown>;

interface Waiting {
  readonly key: Key;
  readonly resolve: (item: Item | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** BatchGetItem takes at most 100 keys. */
const MAX_KEYS = 100;
/** Rounds for keys DynamoDB left unprocessed (throttling) before the reads fail. */
const MAX_ROUNDS = 5;

let waiting = new Map<string, Waiting[]>();

const idOf = (table: string, key: Key) => `${table}\u0000${key.PK}\u0000${key.SK}`;

/**
 * The item under `key` (PK, SK) in this function's table, undefined if none: read strongly consistent,
 * or, with `consistent: false` and no batch open to join, eventually consistent (half the read units).
 */
export function readItem(key: Key, options: { consistent?: boolean } = {}): Promise<Item | undefined> {
  return waiting.size > 0 ? readItemInBatch(key) : readAlone(tableName(), key, options.consistent ?? true);
}

/** `readItem`, in a batch that leaves at the end of this turn (opened if none is open). */
export function readItemInBatch(key: Key): Promise<Item | undefined> {
  const table = tableName();
  return new Promise((resolve, reject) => {
    if (waiting.size === 0) setImmediate(flush);
    const id = idOf(table, key);
    const readers = waiting.get(id) ?? [];
    readers.push({ key, resolve, reject });
    waiting.set(id, readers);
  });
}

async function readAlone(table: string, key: Key, consistent = true): Promise<Item | undefined> {
  const out = await db().send(new GetCommand({ TableName: table, Key: key, ConsistentRead: consistent }));
  return out.Item;
}

function flush(): void {
  const due = waiting;
  waiting = new Map();
  const byTable = new Map<string, [string, Waiting[]][]>();
  for (const [id, readers] of due) {
    const table = id.slice(0, id.indexOf('\u0000'));
    byTable.set(table, [...(byTable.get(table) ?? []), [id, readers]]);
  }
  for (const [table, entries] of byTable) {
    for (let start = 0; start < entries.length; start += MAX_KEYS) {
      const chunk = entries.slice(start, start + MAX_KEYS);
      read(table, chunk).then(
        (items) => {
          for (const [id, readers] of chunk) for (const reader of readers) reader.resolve(items.get(id));
        },
        (error: unknown) => {
          for (const [, readers] of chunk) for (const reader of readers) reader.reject(error);
        },
      );
    }
  }
}

async function read(table: string, chunk: readonly [string, Waiting[]][]): Promise<Map<string, Item>> {
  const keys = chunk.map(([, readers]) => readers[0]?.key).filter((key): key is Key => key !== undefined);
  const found = new Map<string, Item>();
  if (keys.length === 1 && keys[0]) {
    const alone = await readAlone(table, keys[0]);
    if (alone) found.set(idOf(table, keys[0]), alone);
    return found;
  }
  let pending: Key[] = keys;
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw new Error(`BatchGetItem left ${pending.length} keys unread`);
    if (round > 0) await backoff(round - 1, 20, 500);
    const out = await db().send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[table] ?? []) {
      found.set(idOf(table, { PK: String(item.PK), SK: String(item.SK) }), item);
    }
    pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
  }
  return found;
}
