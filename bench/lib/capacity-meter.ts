import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { TABLE_INDEXES, TABLE_KEYS } from '../../functions/store/table-definition';

/**
 * An AWS SDK v3 middleware that meters DynamoDB capacity two ways, for every call through the client:
 *
 * - reported: it sets `ReturnConsumedCapacity` (INDEXES by default) on each request that takes it and
 *   records the `ConsumedCapacity` DynamoDB (Local) answers;
 * - computed: independently, from the items themselves and DynamoDB's pricing rules: item size = UTF-8
 *   bytes of attribute names + values (numbers: 1 byte per 2 significant digits + 1; lists/maps: 3 bytes
 *   + 1 per element; booleans/null: 1); writes in 1 KB units, on the larger of the old and new item (old
 *   sizes come from items this meter has seen); reads in 4 KB units, eventually consistent at half;
 *   transactional actions count double; KEYS_ONLY index entries are written when an item gains, loses or
 *   changes its index keys (1 unit, transactional rate inside transactions).
 *
 * It also counts round trips and their latency, so a request's DynamoDB calls can be listed.
 */
export interface Units {
  read: number;
  write: number;
}

export interface MeteredCall {
  readonly command: string;
  readonly latencyMs: number;
  readonly ok: boolean;
  readonly error?: string;
  /** From ConsumedCapacity; undefined when DynamoDB answered none (errors, or no support). */
  readonly reported?: Units & { readonly indexes: Record<string, number> };
  readonly computed: Units & { readonly notes: readonly string[] };
  /** Item sizes in bytes, as computed, for the items written (or read). */
  readonly itemBytes: readonly number[];
}

type Item = Record<string, AttributeValue>;

const READ_COMMANDS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);
const CAPACITY_COMMANDS = new Set([
  ...READ_COMMANDS,
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** DynamoDB's number size: 1 byte per two significant digits, plus 1. */
function numberBytes(text: string): number {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L !== undefined)
    return 3 + value.L.reduce((sum, element) => sum + 1 + attributeValueBytes(element), 0);
  if (value.M !== undefined)
    return (
      3 +
      Object.entries(value.M).reduce(
        (sum, [name, element]) => sum + 1 + utf8(name) + attributeValueBytes(element),
        0,
      )
    );
  return 0;
}

/** Item size as DynamoDB bills it: attribute names plus values. */
export function itemBytes(item: Item): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + utf8(name) + attributeValueBytes(value),
    0,
  );
}

/** Items from a document client come back native; marshal them to size them like stored items. */
function asAttributeMap(item: Record<string, unknown>, native: boolean): Item {
  return native
    ? marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true })
    : (item as unknown as Item);
}

const KB = 1024;
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);

interface Known {
  readonly bytes: number;
  /** Per index: its key values, or '' when the item is not in it. */
  readonly indexKeys: readonly string[];
}

export interface CapacityMeterOptions {
  /** What to ask DynamoDB for; default INDEXES. NONE leaves requests alone (reported stays undefined). */
  readonly returnConsumedCapacity?: 'TOTAL' | 'INDEXES' | 'NONE';
  readonly keyAttributes?: readonly string[];
  readonly indexes?: readonly { indexName: string; partitionKey: string; sortKey: string }[];
}

type MeteredClient = DynamoDBClient | DynamoDBDocumentClient;
type Args = { input: Record<string, unknown> };
type Handler = (args: Args) => Promise<{ output: Record<string, unknown> }>;

export class CapacityMeter {
  readonly calls: MeteredCall[] = [];
  private readonly known = new Map<string, Known>();
  private readonly returnConsumedCapacity: 'TOTAL' | 'INDEXES' | 'NONE';
  private readonly keyAttributes: readonly string[];
  private readonly indexes: readonly { indexName: string; partitionKey: string; sortKey: string }[];
  private readonly attached = new WeakSet<object>();

  constructor(options: CapacityMeterOptions = {}) {
    this.returnConsumedCapacity = options.returnConsumedCapacity ?? 'INDEXES';
    this.keyAttributes = options.keyAttributes ?? [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey];
    this.indexes = options.indexes ?? TABLE_INDEXES;
  }

  /** Adds the middleware to a client (a document client shares its DynamoDBClient's stack). */
  attach(client: MeteredClient): this {
    const stack = client.middlewareStack as unknown as {
      add(middleware: unknown, options: Record<string, unknown>): void;
    };
    if (this.attached.has(stack)) return this;
    this.attached.add(stack);
    const mode = this.returnConsumedCapacity;
    stack.add(
      (next: Handler, context: { commandName?: string }) => async (args: Args) => {
        if (mode !== 'NONE' && CAPACITY_COMMANDS.has(context.commandName ?? '')) {
          args.input.ReturnConsumedCapacity = mode;
        }
        return next(args);
      },
      { step: 'initialize', name: 'benchReturnConsumedCapacity', priority: 'high' },
    );
    stack.add(
      (
        next: Handler,
        context: { commandName?: string; __aws_sdk_context?: { features?: Record<string, string> } },
      ) =>
        async (args: Args) => {
          const started = process.hrtime.bigint();
          const command = context.commandName ?? 'unknown';
          try {
            const result = await next(args);
            const native = context.__aws_sdk_context?.features?.DDB_MAPPER !== undefined;
            this.record(command, started, args.input, result.output, native);
            return result;
          } catch (error) {
            this.record(command, started, args.input, undefined, false, error);
            throw error;
          }
        },
      { step: 'build', name: 'benchCapacityMeter', priority: 'low' },
    );
    return this;
  }

  reset(): void {
    this.calls.length = 0;
  }

  /** Calls recorded since `from` (an index into calls). */
  since(from: number): MeteredCall[] {
    return this.calls.slice(from);
  }

  private keyOf(table: unknown, item: Item): string {
    return `${String(table)}|${this.keyAttributes.map((name) => JSON.stringify(item[name] ?? null)).join('|')}`;
  }

  private indexKeysOf(item: Item): string[] {
    return this.indexes.map((index) => {
      const pk = item[index.partitionKey];
      const sk = item[index.sortKey];
      return pk && sk ? `${JSON.stringify(pk)}/${JSON.stringify(sk)}` : '';
    });
  }

  private remember(table: unknown, item: Item, bytes = itemBytes(item)): void {
    this.known.set(this.keyOf(table, item), { bytes, indexKeys: this.indexKeysOf(item) });
  }

  /** Units to put `item`: the larger of old and new size, plus index entries that change. */
  private putUnits(
    table: unknown,
    item: Item,
    notes: string[],
  ): { units: number; indexWrites: number; bytes: number } {
    const bytes = itemBytes(item);
    const old = this.known.get(this.keyOf(table, item));
    const newKeys = this.indexKeysOf(item);
    let indexWrites = 0;
    newKeys.forEach((keys, i) => {
      const before = old?.indexKeys[i] ?? '';
      if (keys === before) return;
      // A changed key deletes the old index entry and writes the new one.
      indexWrites += (before ? 1 : 0) + (keys ? 1 : 0);
      notes.push(`index ${this.indexes[i]?.indexName}: ${before ? 'moved' : 'new'} entry`);
    });
    if (!old) notes.push(`put ${bytes} B (no earlier size known: new item assumed)`);
    return { units: writeUnits(Math.max(bytes, old?.bytes ?? 0)), indexWrites, bytes };
  }

  private knownUnits(table: unknown, key: Item, notes: string[], what: string): number {
    const old = this.known.get(this.keyOf(table, key));
    if (!old) notes.push(`${what}: size unknown, 1 KB assumed`);
    return writeUnits(old?.bytes ?? 1);
  }

  private record(
    command: string,
    started: bigint,
    input: Record<string, unknown>,
    output: Record<string, unknown> | undefined,
    native: boolean,
    error?: unknown,
  ): void {
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const notes: string[] = [];
    const sizes: number[] = [];
    const computed: Units = { read: 0, write: 0 };
    const table = input.TableName;
    const consistent = input.ConsistentRead === true;
    switch (command) {
      case 'GetItemCommand': {
        const item = output?.Item as Record<string, unknown> | undefined;
        const bytes = item ? itemBytes(asAttributeMap(item, native)) : 0;
        if (item) this.remember(table, asAttributeMap(item, native), bytes);
        sizes.push(bytes);
        computed.read += readUnits(bytes, consistent);
        break;
      }
      case 'QueryCommand':
      case 'ScanCommand': {
        const items = (output?.Items as Record<string, unknown>[] | undefined) ?? [];
        let total = 0;
        for (const raw of items) {
          const item = asAttributeMap(raw, native);
          const bytes = itemBytes(item);
          total += bytes;
          sizes.push(bytes);
          if (!input.IndexName) this.remember(table, item, bytes);
        }
        computed.read += readUnits(total, consistent);
        break;
      }
      case 'PutItemCommand': {
        const item = input.Item as Item;
        const { units, indexWrites, bytes } = this.putUnits(table, item, notes);
        sizes.push(bytes);
        computed.write += units + indexWrites;
        if (output) this.remember(table, item, bytes);
        break;
      }
      case 'UpdateItemCommand':
      case 'DeleteItemCommand':
        computed.write += this.knownUnits(table, input.Key as Item, notes, command);
        break;
      case 'TransactWriteItemsCommand': {
        const actions = (input.TransactItems as Record<string, Record<string, unknown>>[] | undefined) ?? [];
        const puts: [unknown, Item, number][] = [];
        for (const action of actions) {
          if (action.Put) {
            const { units, indexWrites, bytes } = this.putUnits(
              action.Put.TableName,
              action.Put.Item as Item,
              notes,
            );
            sizes.push(bytes);
            computed.write += 2 * (units + indexWrites);
            puts.push([action.Put.TableName, action.Put.Item as Item, bytes]);
          } else {
            const part = action.Update ?? action.Delete ?? action.ConditionCheck;
            const what = action.Update ? 'Update' : action.Delete ? 'Delete' : 'ConditionCheck';
            if (part) computed.write += 2 * this.knownUnits(part.TableName, part.Key as Item, notes, what);
          }
        }
        if (output) for (const [t, item, bytes] of puts) this.remember(t, item, bytes);
        break;
      }
      case 'TransactGetItemsCommand': {
        const responses = (output?.Responses as { Item?: Record<string, unknown> }[] | undefined) ?? [];
        for (const response of responses) {
          const bytes = response.Item ? itemBytes(asAttributeMap(response.Item, native)) : 0;
          sizes.push(bytes);
          computed.read += 2 * readUnits(bytes, true);
        }
        break;
      }
      default:
        if (CAPACITY_COMMANDS.has(command)) notes.push(`${command}: not computed`);
    }
    this.calls.push({
      command,
      latencyMs,
      ok: error === undefined,
      ...(error === undefined ? {} : { error: (error as { name?: string }).name ?? String(error) }),
      ...(output ? { reported: reportedUnits(command, output.ConsumedCapacity) } : {}),
      computed: { ...computed, notes },
      itemBytes: sizes,
    });
  }
}

interface Consumed {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

function reportedUnits(
  command: string,
  consumed: unknown,
): (Units & { indexes: Record<string, number> }) | undefined {
  if (!consumed) return undefined;
  const list = (Array.isArray(consumed) ? consumed : [consumed]) as Consumed[];
  const units = { read: 0, write: 0, indexes: {} as Record<string, number> };
  const isRead = READ_COMMANDS.has(command);
  for (const entry of list) {
    const total = entry.CapacityUnits ?? 0;
    if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
      units.read += entry.ReadCapacityUnits ?? 0;
      units.write += entry.WriteCapacityUnits ?? 0;
    } else if (isRead) units.read += total;
    else units.write += total;
    for (const [name, index] of Object.entries(entry.GlobalSecondaryIndexes ?? {})) {
      units.indexes[name] = (units.indexes[name] ?? 0) + (index.CapacityUnits ?? 0);
    }
  }
  return units;
}

/** Sums of a list of calls. */
export function totals(calls: readonly MeteredCall[]) {
  const sum = {
    roundTrips: calls.length,
    byCommand: {} as Record<string, number>,
    computed: { read: 0, write: 0 },
    reported: { read: 0, write: 0 },
    reportedMissing: 0,
  };
  for (const call of calls) {
    sum.byCommand[call.command] = (sum.byCommand[call.command] ?? 0) + 1;
    sum.computed.read += call.computed.read;
    sum.computed.write += call.computed.write;
    if (call.reported) {
      sum.reported.read += call.reported.read;
      sum.reported.write += call.reported.write;
    } else sum.reportedMissing += 1;
  }
  return sum;
}

/** On-demand prices, us-east-1 (after the November 2024 cut): dollars per million request units. */
export const ON_DEMAND_PRICE = { writePerMillion: 0.625, readPerMillion: 0.125 } as const;

/** Dollars per million operations that each consume `units`. */
export const dollarsPerMillion = (units: Units): number =>
  Math.round(
    (units.write * ON_DEMAND_PRICE.writePerMillion + units.read * ON_DEMAND_PRICE.readPerMillion) * 1e4,
  ) / 1e4;
