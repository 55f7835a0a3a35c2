import type { _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams';
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { STREAM_CONSUMERS, type StreamConsumerDefinition } from '../../functions/streams/registry';
import { matchesAnyFilter } from '../stream-filter';
import { toLambdaRecord } from '../stream-record';
import { integerOption, type OpsCommand, option, requiredOption, UsageError } from './command';
import { cloudFormation, outputKey, stackOutputs, targetOf, targetStack } from './target';

/** What Lambda puts on a stream consumer's on-failure destination for a batch it gave up on. */
interface StreamBatchFailure {
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly streamArn: string;
    readonly batchSize?: number;
  };
}

export interface ReplayDeps {
  readonly sqs: SQSClient;
  readonly streams: DynamoDBStreamsClient;
  readonly lambda: LambdaClient;
  readonly progress?: (text: string) => void;
}

export interface ReplayOptions {
  readonly consumer: StreamConsumerDefinition;
  readonly queueUrl: string;
  /** The consumer's live alias (ARN or name:alias). */
  readonly functionName: string;
  /** At most this many DLQ messages in one run (default 1,000). */
  readonly maxMessages?: number;
  /** GetRecords pages read per message at most (default 200). */
  readonly maxPages?: number;
  /** Seconds a received message stays invisible while it is replayed (default 900). */
  readonly visibilitySeconds?: number;
}

export interface ReplayReport {
  readonly consumer: string;
  readonly messages: number;
  readonly replayed: number;
  readonly records: number;
  readonly invocations: number;
  /** Messages left in the queue, with why (they become visible again for a later run). */
  readonly kept: readonly { readonly messageId: string; readonly reason: string }[];
}

class KeepMessage extends Error {}

/**
 * Re-drives a stream consumer's failed batches. Primary course, per DLQ message: read the batch's records
 * back from the table stream (its shard, from the first to the last sequence number), keep those the
 * consumer's filters select (as the event source mapping did), invoke the consumer's live alias with them
 * in batches of its registry size, and delete the message only when every record succeeded. Consumers are
 * idempotent (markers, write-once ids), so replaying a record that did get through changes nothing, and
 * running the tool twice is safe. Records the stream no longer holds (24 h) keep their message.
 */
export async function replayDlq(deps: ReplayDeps, options: ReplayOptions): Promise<ReplayReport> {
  const progress = deps.progress ?? (() => undefined);
  const maxMessages = options.maxMessages ?? 1_000;
  const kept: { messageId: string; reason: string }[] = [];
  const seen = new Set<string>();
  let messages = 0;
  let replayed = 0;
  let records = 0;
  let invocations = 0;
  while (messages < maxMessages) {
    const page = await deps.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(10, maxMessages - messages),
        VisibilityTimeout: options.visibilitySeconds ?? 900,
        WaitTimeSeconds: 1,
      }),
    );
    const batch = (page.Messages ?? []).filter((message) => !seen.has(message.MessageId ?? ''));
    if (batch.length === 0) break;
    for (const message of batch) {
      const messageId = message.MessageId ?? '?';
      seen.add(messageId);
      messages += 1;
      try {
        const failure = parseFailure(message.Body);
        const batchRecords = await readBatch(deps.streams, failure, options.maxPages ?? 200);
        const selected = batchRecords.filter((record) => matchesAnyFilter(record, options.consumer.filters));
        records += selected.length;
        for (let start = 0; start < selected.length; start += options.consumer.batchSize) {
          await invoke(
            deps.lambda,
            options.functionName,
            selected.slice(start, start + options.consumer.batchSize),
          );
          invocations += 1;
        }
        await deps.sqs.send(
          new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        replayed += 1;
        progress(
          `message ${messages}: ${selected.length} of ${batchRecords.length} records replayed, deleted`,
        );
      } catch (error) {
        const reason = (error as Error).message;
        kept.push({ messageId, reason });
        progress(`message ${messages}: kept (${reason})`);
      }
    }
  }
  return { consumer: options.consumer.name, messages, replayed, records, invocations, kept };
}

function parseFailure(body: string | undefined): StreamBatchFailure {
  try {
    const parsed = JSON.parse(body ?? '') as Partial<StreamBatchFailure>;
    const info = parsed.DDBStreamBatchInfo;
    if (info?.shardId && info.startSequenceNumber && info.endSequenceNumber && info.streamArn) {
      return parsed as StreamBatchFailure;
    }
  } catch {
    // Falls through to the error below.
  }
  throw new KeepMessage('not a DynamoDB stream batch failure record');
}

async function readBatch(
  streams: DynamoDBStreamsClient,
  failure: StreamBatchFailure,
  maxPages: number,
): Promise<DynamoDBRecord[]> {
  const info = failure.DDBStreamBatchInfo;
  const region = info.streamArn.split(':')[3] ?? '';
  const end = BigInt(info.endSequenceNumber);
  let iterator: string | undefined;
  try {
    iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: info.streamArn,
          ShardId: info.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: info.startSequenceNumber,
        }),
      )
    ).ShardIterator;
  } catch (error) {
    if (
      (error as Error).name === 'TrimmedDataAccessException' ||
      (error as Error).name === 'ResourceNotFoundException'
    ) {
      throw new KeepMessage('the records are no longer in the stream (it keeps 24 h)');
    }
    throw error;
  }
  const found: StreamsRecord[] = [];
  for (let pageCount = 0; iterator && pageCount < maxPages; pageCount += 1) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const record of page.Records ?? []) {
      if (BigInt(record.dynamodb?.SequenceNumber ?? '0') <= end) found.push(record);
    }
    const last = page.Records?.at(-1)?.dynamodb?.SequenceNumber;
    if (last !== undefined && BigInt(last) >= end) {
      return found.map((record) => toLambdaRecord(record, info.streamArn, region));
    }
    iterator = page.NextShardIterator;
  }
  throw new KeepMessage(`did not reach sequence number ${info.endSequenceNumber} in ${maxPages} pages`);
}

async function invoke(lambda: LambdaClient, functionName: string, records: DynamoDBRecord[]): Promise<void> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify({ Records: records })),
    }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) throw new KeepMessage(`the consumer failed: ${text.slice(0, 300)}`);
  const answer = text ? (JSON.parse(text) as { batchItemFailures?: unknown[] } | null) : null;
  const failures = answer?.batchItemFailures?.length ?? 0;
  if (failures > 0) throw new KeepMessage(`${failures} records failed again`);
}

export const replayDlqCommand: OpsCommand = {
  name: 'replay-dlq',
  summary: "Re-drives a stream consumer's failed records from its DLQ through its live alias (idempotent).",
  usage: [
    `--consumer <name>          one of: ${STREAM_CONSUMERS.map((consumer) => consumer.name).join(', ')}`,
    '--region <aws region>      the deployment (or AWS_REGION)',
    '--stage <stage>            default prod',
    '--max-messages <n>         at most this many DLQ messages in this run (default 1000)',
  ].join('\n'),
  run: async (args, io) => {
    const name = requiredOption(args, 'consumer');
    const consumer = STREAM_CONSUMERS.find((candidate) => candidate.name === name);
    if (!consumer) throw new UsageError(`unknown consumer "${name}"`);
    const target = targetOf(args);
    const outputs = await stackOutputs(cloudFormation(target), targetStack(target, 'Streams'));
    const queueUrl = option(args, 'queue-url') ?? outputs.get(outputKey(`DlqUrl-${name}`));
    const functionName = option(args, 'function') ?? outputs.get(outputKey(`ConsumerAlias-${name}`));
    if (!queueUrl || !functionName)
      throw new Error(`${targetStack(target, 'Streams')} has no outputs for ${name}`);
    const report = await replayDlq(
      {
        sqs: new SQSClient({ region: target.region }),
        streams: new DynamoDBStreamsClient({ region: target.region }),
        lambda: new LambdaClient({ region: target.region }),
        progress: io.progress,
      },
      {
        consumer,
        queueUrl,
        functionName,
        maxMessages: integerOption(args, 'max-messages', 1_000, 1, 100_000),
      },
    );
    io.out(JSON.stringify(report, null, 2));
    return report.kept.length === 0 ? 0 : 1;
  },
};
