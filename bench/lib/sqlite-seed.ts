/**
 * Bulk seeding for bench/export.ts: writes items straight into the SQLite file of a stopped DynamoDB
 * Local (-sharedDb -dbPath) through the `sqlite3` command line, the rows DynamoDB Local itself would
 * write for a PutItem, at ~100x the rate of BatchWriteItem on this machine. DynamoDB Local stores per
 * item: the key's UTF-8 bytes, SHA-1s salted with "LocalDdb" of hash key, range key and both (parallel
 * scan segments split the hash range), the item size by DynamoDB's rules, the item as DynamoDB JSON and
 * the GSI key attributes in the columns its table info names. No stream records are written (nothing
 * the export reads). This is DynamoDB Local's internal layout (its `cf` table says v2.4.0): `verifyRows`
 * compares rows written here with rows DynamoDB Local wrote for the same items, and the bench runs it
 * every time before trusting the bulk path.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/** The layout version this writer knows (DynamoDB Local's `cf` table). */
export const KNOWN_LAYOUT = 'v2.4.0';
const SALT = Buffer.from('LocalDdb');

function salted(...parts: Buffer[]): Buffer {
  const hash = createHash('sha1').update(SALT);
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Bytes of a number as DynamoDB sizes it: (significant digits, padded to even exponent) / 2 + 1. */
export function numberSize(text: string): number {
  const negative = text.startsWith('-');
  const [mantissa = '', exponentText = '0'] = text.replace(/^[-+]/, '').toLowerCase().split('e');
  const [intPart = '', fracPart = ''] = mantissa.split('.');
  let digits = `${intPart}${fracPart}`.replace(/^0+/, '');
  if (digits === '') return 1;
  let scale = fracPart.length - Number(exponentText);
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale -= 1;
  }
  const exponent = digits.length - scale;
  const odd = Math.abs(exponent % 2) === 1 ? 1 : 0;
  const bytes = Math.floor((digits.length + odd + 1) / 2);
  return negative && bytes < 20 ? bytes + 2 : bytes + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.L) return value.L.reduce((sum, v) => sum + valueSize(v), 0) + value.L.length + 3;
  if (value.M) return mapSize(value.M) + Object.keys(value.M).length + 3;
  throw new Error(`unsupported attribute value ${JSON.stringify(value)}`);
}

const mapSize = (map: Record<string, AttributeValue>) =>
  Object.entries(map).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value), 0);

/** DynamoDB JSON as DynamoDB Local stores it (binary as base64). */
function toJson(item: Record<string, AttributeValue>): string {
  return JSON.stringify(item, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
  );
}

const blob = (text: string) => `CAST('${text.replaceAll("'", "''")}' AS BLOB)`;
const hex = (bytes: Buffer) => `X'${bytes.toString('hex')}'`;

function sqlite(dbFile: string, sql: string): string {
  const out = spawnSync('sqlite3', ['-bail', '-json', dbFile, sql], { encoding: 'utf8', maxBuffer: 2 ** 28 });
  if (out.error || out.status !== 0) throw new Error(`sqlite3 failed: ${out.error?.message ?? out.stderr}`);
  return out.stdout;
}

const query = <T>(dbFile: string, sql: string): T[] => {
  const text = sqlite(dbFile, sql).trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
};

/** Whether the `sqlite3` command line is there. */
export function haveSqlite3(): boolean {
  const out = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' });
  return !out.error && out.status === 0;
}

export function layoutVersion(dbFile: string): string | undefined {
  return query<{ version: string }>(dbFile, 'SELECT version FROM cf')[0]?.version;
}

interface TableLayout {
  readonly hashKey: string;
  readonly rangeKey: string;
  /** GSI key attribute -> SQLite column. */
  readonly indexColumns: ReadonlyMap<string, string>;
}

function tableLayout(dbFile: string, table: string): TableLayout {
  const [row] = query<{ info: string }>(
    dbFile,
    `SELECT CAST(TableInfo AS TEXT) AS info FROM dm WHERE TableName = '${table.replaceAll("'", "''")}'`,
  );
  if (!row) throw new Error(`no table ${table} in ${dbFile}`);
  type Element = { DynamoDBAttribute: { AttributeName: string }; KeyType: string; SQLiteColumnName: string };
  const info = JSON.parse(row.info) as {
    SQLiteIndex: Record<string, Element[]>;
    UniqueGSIIndexes?: { DynamoDBAttribute: { AttributeName: string }; SQLiteColumnName: string }[][];
  };
  const key = (type: string) =>
    info.SQLiteIndex['']?.find((k) => k.KeyType === type)?.DynamoDBAttribute.AttributeName ?? '';
  const indexColumns = new Map<string, string>();
  for (const index of info.UniqueGSIIndexes ?? []) {
    for (const element of index)
      indexColumns.set(element.DynamoDBAttribute.AttributeName, element.SQLiteColumnName);
  }
  return { hashKey: key('HASH'), rangeKey: key('RANGE'), indexColumns };
}

/**
 * Streams INSERTs into one table of a stopped DynamoDB Local's database. Marshals like the store's
 * document client (removeUndefinedValues). With `rebuildIndexes`, drops the table's SQLite indexes
 * first and builds them once at the end (much faster for millions of rows).
 */
export class SqliteTableWriter {
  private readonly layout: TableLayout;
  private readonly child;
  private readonly exited: Promise<unknown>;
  private readonly stderr: string[] = [];
  private readonly indexSql: string[];
  private readonly columns: string[];
  rows = 0;

  constructor(dbFile: string, table: string, options: { readonly rebuildIndexes?: boolean } = {}) {
    this.layout = tableLayout(dbFile, table);
    this.columns = [...this.layout.indexColumns.values()];
    const quoted = `"${table.replaceAll('"', '""')}"`;
    this.indexSql = options.rebuildIndexes
      ? query<{ name: string; sql: string }>(
          dbFile,
          `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '${table.replaceAll("'", "''")}' AND sql IS NOT NULL`,
        ).map((index) => index.sql)
      : [];
    this.child = spawn('sqlite3', ['-bail', dbFile], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = once(this.child, 'exit');
    const drops = this.indexSql.map((sql) => `DROP INDEX ${/^CREATE INDEX (".*?"|\S+)/.exec(sql)?.[1]};`);
    this.child.stdin.write(
      `PRAGMA journal_mode=OFF;\nPRAGMA synchronous=OFF;\nPRAGMA cache_size=-262144;\n${drops.join('\n')}\nBEGIN;\n`,
    );
    this.insertPrefix = `INSERT INTO ${quoted} (hashKey, rangeKey, hashValue, rangeValue, itemSize, ObjectJSON, hashRangeValue${this.columns.map((c) => `, ${c}`).join('')}) VALUES (`;
  }

  private readonly insertPrefix: string;

  /** The SQL row for one item, as DynamoDB Local's PutItem stores it. */
  rowSql(item: Record<string, unknown>): string {
    const value = marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false });
    const hashKey = value[this.layout.hashKey]?.S;
    const rangeKey = value[this.layout.rangeKey]?.S;
    if (hashKey === undefined || rangeKey === undefined) throw new Error('only string hash and range keys');
    const hashValue = salted(Buffer.from(hashKey));
    const rangeValue = salted(Buffer.from(rangeKey));
    const indexValues = this.columns.map((column) => {
      const attribute = [...this.layout.indexColumns].find(([, c]) => c === column)?.[0] ?? '';
      const s = value[attribute]?.S;
      return s === undefined ? 'NULL' : blob(s);
    });
    return `${this.insertPrefix}${blob(hashKey)}, ${blob(rangeKey)}, ${hex(hashValue)}, ${hex(rangeValue)}, ${mapSize(value)}, ${blob(toJson(value))}, ${hex(salted(hashValue, rangeValue))}${indexValues.map((v) => `, ${v}`).join('')});\n`;
  }

  /** Resolves when sqlite3 has taken the row (waits when it falls behind). */
  async write(item: Record<string, unknown>): Promise<void> {
    this.rows += 1;
    if (!this.child.stdin.write(this.rowSql(item))) await once(this.child.stdin, 'drain');
  }

  async close(): Promise<void> {
    this.child.stdin.end(`COMMIT;\n${this.indexSql.map((sql) => `${sql};`).join('\n')}\n`);
    const [code] = (await this.exited) as [number | null];
    if (code !== 0) throw new Error(`sqlite3 exited ${code}: ${this.stderr.join('').trim()}`);
  }
}

interface StoredRow {
  readonly k: string;
  readonly r: string;
  readonly hv: string;
  readonly rv: string;
  readonly hrv: string;
  readonly size: number;
  readonly json: string;
  readonly idx: string;
}

function storedRows(dbFile: string, table: string): StoredRow[] {
  const columns = [...tableLayout(dbFile, table).indexColumns.values()];
  return query<StoredRow>(
    dbFile,
    `SELECT hex(hashKey) AS k, hex(rangeKey) AS r, hex(hashValue) AS hv, hex(rangeValue) AS rv, hex(hashRangeValue) AS hrv, itemSize AS size, CAST(ObjectJSON AS TEXT) AS json, ${columns.length > 0 ? columns.map((c) => `ifnull(hex(${c}), '-')`).join(" || ',' || ") : "''"} AS idx FROM "${table}" ORDER BY hashKey, rangeKey`,
  );
}

/**
 * Compares the rows of two tables of one database, one written by DynamoDB Local and one by
 * SqliteTableWriter from the same items: every column equal, the item JSON equal once parsed (DynamoDB
 * Local writes attributes in hash-map order). Returns the differences (empty: the bulk path is exact).
 */
export function verifyRows(dbFile: string, writtenByDynamo: string, writtenHere: string): string[] {
  const expected = storedRows(dbFile, writtenByDynamo);
  const actual = storedRows(dbFile, writtenHere);
  const problems: string[] = [];
  if (expected.length !== actual.length) problems.push(`${expected.length} rows vs ${actual.length}`);
  for (let i = 0; i < Math.min(expected.length, actual.length) && problems.length < 10; i++) {
    const a = expected[i];
    const b = actual[i];
    if (!a || !b) continue;
    for (const column of ['k', 'r', 'hv', 'rv', 'hrv', 'size', 'idx'] as const) {
      if (a[column] !== b[column]) problems.push(`row ${i} ${column}: ${a[column]} vs ${b[column]}`);
    }
    if (!isDeepStrictEqual(JSON.parse(a.json), JSON.parse(b.json))) {
      problems.push(`row ${i} item: ${a.json} vs ${b.json}`);
    }
  }
  return problems;
}
