import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { STREAM_CONSUMERS, type StreamConsumerDefinition } from '../functions/streams/registry';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb';
import { cachedLoader, importStreamHandler, lambdaContext, type StreamHandlerLoader } from './handlers';
import { consoleLog, type LocalLog } from './log';
import { matchesAnyFilter } from './stream-filter';
import { toLambdaRecord } from './stream-record';

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly region?: string;
  /** Default: the registry's STREAM_CONSUMERS. */
  readonly consumers?: readonly StreamConsumerDefinition[];
  /** Default: import `functions/streams/<module>.ts`. Tests inject fakes. */
  readonly loadHandler?: StreamHandlerLoader;
  /** Pause between polls when the stream is idle; default 250 ms. */
  readonly pollIntervalMs?: number;
  /** Retries of a failing record after its first attempt before it goes to the DLQ; default 5. */
  readonly maxRetries?: number;
  /** First retry delay, doubled on each retry up to maxRetryDelayMs; defaults 200 ms and 5 s. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Where `<consumer>.jsonl` DLQ files go. */
  readonly dlqDir: string;
  /** Where positions are kept between runs; absent means start from the oldest record each time. */
  readonly checkpointFile?: string;
  /** Lambda timeout the handlers see in their context; default 60 s. */
  readonly functionTimeoutMs?: number;
  readonly log?: LocalLog;
}

export interface StreamPoller {
  /** Polls in the background until stop(). */
  start(): void;
  stop(): Promise<void>;
  /**
   * Delivers everything currently in the stream: returns once every consumer has read to the end of
   * every shard and has no record waiting (retries included, so a failing record ends in the DLQ).
   */
  drain(timeoutMs?: number): Promise<void>;
}

/** Where one consumer stands in one shard: its own iterator, like one event source mapping. */
interface Cursor {
  readonly consumer: StreamConsumerDefinition;
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  /** undefined: not requested yet; null: the shard is closed and fully read. */
  iterator: string | null | undefined;
  /** Everything up to this sequence number is handled (delivered, filtered out or sent to the DLQ). */
  checkpoint: string | undefined;
  /** Fetched records that passed the filters and still wait for a successful delivery. */
  pending: DynamoDBRecord[];
  /** Failed deliveries of pending[0]. */
  attempts: number;
  retryAt: number;
  caughtUp: boolean;
  done: boolean;
}

interface CheckpointFile {
  readonly streamArn: string;
  readonly positions: Record<string, Record<string, string>>;
}

const sequenceOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';

const errorName = (error: unknown): string => (error as { name?: string }).name ?? '';

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The local stand-in for Lambda's DynamoDB Streams event source mappings: one position per consumer and
 * shard, parents before children, Lambda-style filters, batches of `batchSize`, and partial batch
 * failures (ReportBatchItemFailures) retried from the first failed record with backoff; a record that
 * still fails after `maxRetries` retries is appended to `<dlqDir>/<consumer>.jsonl` and logged.
 *
 * When the handler threw, the whole batch goes to the DLQ, as with Lambda. When it reported failures,
 * only the first failed record goes, and delivery resumes right after it (where Lambda would send the
 * whole rest of the batch to its on-failure destination, losing good records behind a poison one;
 * bisecting would end the same way). Records after it may thus be delivered again: at least once,
 * never out of order, never lost.
 */
export function createStreamPoller(options: StreamPollerOptions): StreamPoller {
  const region = options.region ?? LOCAL_REGION;
  const clientConfig = { endpoint: options.endpoint, region, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 };
  const dynamodb = new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const consumers = options.consumers ?? STREAM_CONSUMERS;
  const loadHandler = cachedLoader(options.loadHandler ?? importStreamHandler);
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maxRetries = options.maxRetries ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  const functionTimeoutMs = options.functionTimeoutMs ?? 60_000;
  const log = options.log ?? consoleLog('[streams] ');

  let streamArn: string | undefined;
  const cursors = new Map<string, Cursor>();
  const cursorKey = (consumer: string, shardId: string) => `${consumer}\u0000${shardId}`;
  let saved: CheckpointFile | undefined = readCheckpoints(options.checkpointFile);
  let savedJson = '';

  // One lock per consumer, like separate event source mappings: a slow consumer never holds up another.
  const locks = new Map<string, Promise<unknown>>();
  const exclusive = <T>(consumer: string, work: () => Promise<T>): Promise<T> => {
    const previous = locks.get(consumer) ?? Promise.resolve();
    const run = previous.then(work, work);
    locks.set(
      consumer,
      run.catch(() => undefined),
    );
    return run;
  };

  async function resolveStreamArn(): Promise<string | undefined> {
    if (!streamArn) {
      const table = await dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
      streamArn = table.Table?.LatestStreamArn;
      if (saved && saved.streamArn !== streamArn) saved = undefined;
    }
    return streamArn;
  }

  async function listShards(arn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return shards;
  }

  function addCursors(shards: readonly Shard[]): void {
    for (const shard of shards) {
      if (!shard.ShardId) continue;
      for (const consumer of consumers) {
        const key = cursorKey(consumer.name, shard.ShardId);
        if (cursors.has(key)) continue;
        cursors.set(key, {
          consumer,
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          iterator: undefined,
          checkpoint: saved?.positions[consumer.name]?.[shard.ShardId],
          pending: [],
          attempts: 0,
          retryAt: 0,
          caughtUp: false,
          done: false,
        });
      }
    }
  }

  /** A child shard waits until its parent is fully processed, so records of one key stay in order. */
  function parentDone(cursor: Cursor): boolean {
    if (!cursor.parentShardId) return true;
    const parent = cursors.get(cursorKey(cursor.consumer.name, cursor.parentShardId));
    return !parent || parent.done;
  }

  async function fetch(cursor: Cursor, arn: string): Promise<void> {
    if (cursor.iterator === undefined) {
      const position = cursor.checkpoint
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: cursor.checkpoint }
        : { ShardIteratorType: 'TRIM_HORIZON' as const };
      try {
        const answer = await streams.send(
          new GetShardIteratorCommand({ StreamArn: arn, ShardId: cursor.shardId, ...position }),
        );
        cursor.iterator = answer.ShardIterator ?? null;
      } catch (error) {
        if (errorName(error) === 'ResourceNotFoundException') {
          cursor.done = true;
          return;
        }
        const positionGone = ['TrimmedDataAccessException', 'ValidationException'].includes(errorName(error));
        if (positionGone && position.ShardIteratorType !== 'TRIM_HORIZON') {
          // The saved position is gone (trimmed, or another stream): read what is left.
          cursor.checkpoint = undefined;
          return;
        }
        throw error;
      }
    }
    if (cursor.iterator === null) {
      cursor.caughtUp = true;
      return;
    }
    let answer: GetRecordsCommandOutput;
    try {
      answer = await streams.send(new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: 1000 }));
    } catch (error) {
      if (
        errorName(error) === 'ExpiredIteratorException' ||
        errorName(error) === 'TrimmedDataAccessException'
      ) {
        cursor.iterator = undefined;
        if (errorName(error) === 'TrimmedDataAccessException') cursor.checkpoint = undefined;
        return;
      }
      if (errorName(error) === 'ResourceNotFoundException') {
        cursor.done = true;
        return;
      }
      throw error;
    }
    const records = (answer.Records ?? []).map((record) => toLambdaRecord(record, arn, region));
    cursor.iterator = answer.NextShardIterator ?? null;
    cursor.caughtUp = records.length === 0;
    cursor.pending = records.filter((record) => matchesAnyFilter(record, cursor.consumer.filters));
    const last = records.at(-1);
    if (cursor.pending.length === 0 && last) cursor.checkpoint = sequenceOf(last);
  }

  /** Invokes the consumer with one batch; returns the identifiers it reports as failed ('all' on a throw). */
  async function invoke(
    cursor: Cursor,
    batch: DynamoDBRecord[],
  ): Promise<{ failed: Set<string> | 'all'; reason: string }> {
    const functionName = `giftcard-${cursor.consumer.name}`;
    try {
      const handler = await loadHandler(cursor.consumer.module);
      const response: unknown = await handler(
        { Records: batch },
        lambdaContext(functionName, functionTimeoutMs, region),
      );
      if (response === undefined || response === null) return { failed: new Set(), reason: '' };
      const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
      if (failures === undefined || failures === null) return { failed: new Set(), reason: '' };
      if (!Array.isArray(failures)) return { failed: 'all', reason: 'batchItemFailures is not a list' };
      const inBatch = new Set(batch.map(sequenceOf));
      const identifiers = failures.map(
        (failure) => (failure as { itemIdentifier?: unknown })?.itemIdentifier,
      );
      // Like Lambda: an empty or unknown identifier fails the whole batch.
      if (identifiers.some((id) => typeof id !== 'string' || !inBatch.has(id))) {
        return { failed: 'all', reason: 'batchItemFailures names a record that is not in the batch' };
      }
      return { failed: new Set(identifiers as string[]), reason: 'reported in batchItemFailures' };
    } catch (error) {
      log.error(
        `${functionName} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return { failed: 'all', reason: `handler threw: ${describeError(error)}` };
    }
  }

  function sendToDlq(cursor: Cursor, records: readonly DynamoDBRecord[], reason: string): void {
    const file = join(options.dlqDir, `${cursor.consumer.name}.jsonl`);
    mkdirSync(options.dlqDir, { recursive: true });
    const failedAt = new Date().toISOString();
    const lines = records.map((record) =>
      JSON.stringify({
        failedAt,
        consumer: cursor.consumer.name,
        module: cursor.consumer.module,
        shardId: cursor.shardId,
        sequenceNumber: sequenceOf(record),
        attempts: cursor.attempts,
        reason,
        record,
      }),
    );
    appendFileSync(file, `${lines.join('\n')}\n`);
    for (const record of records) {
      log.error(
        `${cursor.consumer.name}: record ${sequenceOf(record)} (${record.eventName} ${JSON.stringify(record.dynamodb?.Keys)}) ` +
          `failed ${cursor.attempts} times and was written to ${file}`,
      );
    }
  }

  /** Delivers pending records batch by batch until they are all handled or one needs a later retry. */
  async function deliver(cursor: Cursor): Promise<void> {
    while (cursor.pending.length > 0 && Date.now() >= cursor.retryAt) {
      const batch = cursor.pending.slice(0, Math.max(1, cursor.consumer.batchSize));
      const { failed, reason } = await invoke(cursor, batch);
      const firstFailed = failed === 'all' ? 0 : batch.findIndex((record) => failed.has(sequenceOf(record)));
      if (firstFailed === -1) {
        cursor.pending.splice(0, batch.length);
        cursor.checkpoint = sequenceOf(batch[batch.length - 1] ?? {});
        cursor.attempts = 0;
        continue;
      }
      // Records before the first failure are done; the retry starts at the failed one.
      if (firstFailed > 0) {
        cursor.pending.splice(0, firstFailed);
        cursor.checkpoint = sequenceOf(batch[firstFailed - 1] ?? {});
        cursor.attempts = 0;
      }
      cursor.attempts += 1;
      if (cursor.attempts > maxRetries) {
        // A thrown handler says nothing about which record is bad: the batch goes, as with Lambda.
        // A reported failure sends only the first failed record; the rest is delivered again.
        const dropped = failed === 'all' ? batch : batch.slice(firstFailed, firstFailed + 1);
        sendToDlq(cursor, dropped, reason);
        cursor.pending.splice(0, dropped.length);
        cursor.checkpoint = sequenceOf(dropped[dropped.length - 1] ?? {});
        cursor.attempts = 0;
        continue;
      }
      const delay = Math.min(retryDelayMs * 2 ** (cursor.attempts - 1), maxRetryDelayMs);
      cursor.retryAt = Date.now() + delay;
      log.warn(
        `${cursor.consumer.name}: record ${sequenceOf(batch[firstFailed] ?? {})} failed (${reason}); ` +
          `retry ${cursor.attempts} of ${maxRetries} in ${delay} ms`,
      );
    }
  }

  async function step(cursor: Cursor, arn: string): Promise<void> {
    if (cursor.done || !parentDone(cursor)) return;
    if (cursor.pending.length === 0) await fetch(cursor, arn);
    await deliver(cursor);
    if (cursor.iterator === null && cursor.pending.length === 0) cursor.done = true;
  }

  function saveCheckpoints(arn: string): void {
    if (!options.checkpointFile) return;
    const positions: Record<string, Record<string, string>> = {};
    for (const cursor of cursors.values()) {
      if (!cursor.checkpoint) continue;
      positions[cursor.consumer.name] = {
        ...positions[cursor.consumer.name],
        [cursor.shardId]: cursor.checkpoint,
      };
    }
    const json = JSON.stringify({ streamArn: arn, positions } satisfies CheckpointFile, null, 2);
    if (json === savedJson) return;
    mkdirSync(dirname(options.checkpointFile), { recursive: true });
    writeFileSync(options.checkpointFile, json);
    savedJson = json;
  }

  /** One poll of every shard for one consumer; true when nothing is left for it to do right now. */
  async function tick(consumer: StreamConsumerDefinition): Promise<boolean> {
    const arn = await resolveStreamArn();
    if (!arn) return true;
    addCursors(await listShards(arn));
    const mine = [...cursors.values()].filter((cursor) => cursor.consumer.name === consumer.name);
    const ready = mine.filter((cursor) => !cursor.done && parentDone(cursor));
    await Promise.all(ready.map((cursor) => step(cursor, arn)));
    saveCheckpoints(arn);
    return mine.every((cursor) => cursor.done || (cursor.pending.length === 0 && cursor.caughtUp));
  }

  /** Every consumer polls once (each under its own lock); true when none has anything left to do. */
  async function tickAll(): Promise<boolean> {
    const idle = await Promise.all(
      consumers.map((consumer) => exclusive(consumer.name, () => tick(consumer))),
    );
    return idle.every(Boolean);
  }

  const nextRetryIn = (): number => {
    const waits = [...cursors.values()]
      .filter((cursor) => cursor.pending.length > 0)
      .map((cursor) => cursor.retryAt - Date.now());
    return Math.max(0, Math.min(pollIntervalMs, ...waits));
  };

  /** At once while a consumer has records to fetch or a retry due; else at its next retry or poll. */
  const nextPollIn = (consumer: StreamConsumerDefinition): number => {
    const mine = [...cursors.values()].filter(
      (cursor) => cursor.consumer.name === consumer.name && !cursor.done,
    );
    const waits = mine.map((cursor) =>
      cursor.pending.length > 0 ? cursor.retryAt - Date.now() : cursor.caughtUp ? pollIntervalMs : 0,
    );
    return Math.max(0, Math.min(pollIntervalMs, ...waits));
  };

  let running = false;
  const timers = new Map<string, NodeJS.Timeout>();
  const loops = new Map<string, Promise<void>>();
  let lastError = '';

  /**
   * Each consumer polls on its own timer: after an idle poll it waits `pollIntervalMs` (Lambda polls
   * a shard about four times a second); while records keep coming it polls again at once.
   */
  const schedule = (consumer: StreamConsumerDefinition, delayMs: number) => {
    if (!running) return;
    timers.set(
      consumer.name,
      setTimeout(() => {
        const loop = exclusive(consumer.name, () => tick(consumer)).then(
          () => {
            lastError = '';
            return nextPollIn(consumer);
          },
          (error: unknown) => {
            // DynamoDB Local briefly unavailable and the like: say so once, keep polling.
            const message = describeError(error);
            if (message !== lastError) log.warn(`polling failed: ${message}`);
            lastError = message;
            return pollIntervalMs;
          },
        );
        loops.set(
          consumer.name,
          loop.then((next) => schedule(consumer, next)),
        );
      }, delayMs),
    );
  };

  return {
    start() {
      if (running) return;
      running = true;
      for (const consumer of consumers) schedule(consumer, pollIntervalMs);
    },
    async stop() {
      running = false;
      for (const timer of timers.values()) clearTimeout(timer);
      await Promise.all([...loops.values()]);
      await Promise.all([...locks.values()]);
      dynamodb.destroy();
      streams.destroy();
    },
    async drain(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      // Two idle polls in a row: the second confirms nothing arrived while the first was delivering.
      let idlePolls = 0;
      while (idlePolls < 2) {
        if (Date.now() > deadline) throw new Error(`stream poller did not drain within ${timeoutMs} ms`);
        const idle = await tickAll();
        idlePolls = idle ? idlePolls + 1 : 0;
        if (!idle) await new Promise((resolve) => setTimeout(resolve, Math.min(nextRetryIn(), 50)));
      }
    },
  };
}

function readCheckpoints(file: string | undefined): CheckpointFile | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as CheckpointFile;
    return typeof parsed.streamArn === 'string' && typeof parsed.positions === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
