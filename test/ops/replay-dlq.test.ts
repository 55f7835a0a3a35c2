import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { replayDlq } from '../../local/ops/replay-dlq';

/** SQS, the table stream and Lambda exist only in AWS: all three are mocked (aws-sdk-client-mock). */
const sqs = mockClient(SQSClient);
const streams = mockClient(DynamoDBStreamsClient);
const lambda = mockClient(LambdaClient);

const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/GiftCards/stream/2026-01-01T00:00:00.000';
const reporting = STREAM_CONSUMERS.find((consumer) => consumer.name === 'reporting');
if (!reporting) throw new Error('no reporting consumer in the registry');

const failure = (start: string, end: string) =>
  JSON.stringify({
    version: '1.0',
    DDBStreamBatchInfo: {
      shardId: 'shardId-1',
      startSequenceNumber: start,
      endSequenceNumber: end,
      streamArn: STREAM_ARN,
      batchSize: 2,
    },
  });

/** A stream record of a ledger entry (what the reporting consumer's filter selects) or of a card item. */
const record = (sequence: string, sk: string, type = 'REDEEM') => ({
  eventID: sequence,
  eventName: 'INSERT' as const,
  dynamodb: {
    SequenceNumber: sequence,
    Keys: { PK: { S: 'CARD#gc_1' }, SK: { S: sk } },
    NewImage: { PK: { S: 'CARD#gc_1' }, SK: { S: sk }, type: { S: type } },
  },
});

/** A Lambda answer's payload as the SDK hands it over (bytes that can turn into a string). */
const payload = (value: unknown) => {
  const text = JSON.stringify(value);
  return Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
};

beforeEach(() => {
  sqs.reset();
  streams.reset();
  lambda.reset();
  streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
  streams.on(GetRecordsCommand).resolves({
    Records: [record('100', 'TX#0000000001'), record('101', 'CARD'), record('102', 'TX#0000000002')],
    NextShardIterator: 'it-2',
  });
  sqs.on(DeleteMessageCommand).resolves({});
});

const run = () =>
  replayDlq(
    {
      sqs: new SQSClient({ region: 'us-east-1' }),
      streams: new DynamoDBStreamsClient({ region: 'us-east-1' }),
      lambda: new LambdaClient({ region: 'us-east-1' }),
    },
    { consumer: reporting, queueUrl: 'https://sqs/dlq', functionName: 'reporting:live' },
  );

describe('npm run ops -- replay-dlq', () => {
  it('reads the batch back from the stream, invokes the live alias with the records the consumer selects, deletes the message', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ MessageId: 'm1', ReceiptHandle: 'r1', Body: failure('100', '102') }] })
      .resolves({ Messages: [] });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ batchItemFailures: [] }) });

    const report = await run();

    expect(report).toMatchObject({ messages: 1, replayed: 1, records: 2, invocations: 1, kept: [] });
    expect(streams.commandCalls(GetShardIteratorCommand)[0]?.args[0].input).toMatchObject({
      StreamArn: STREAM_ARN,
      ShardId: 'shardId-1',
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '100',
    });
    const invoked = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoked?.FunctionName).toBe('reporting:live');
    const event = JSON.parse(Buffer.from(invoked?.Payload as Uint8Array).toString('utf8'));
    // The card item's record is not a ledger entry: the event source mapping's filter would drop it too.
    expect(event.Records.map((r: { eventID: string }) => r.eventID)).toEqual(['100', '102']);
    expect(event.Records[0]).toMatchObject({ eventSource: 'aws:dynamodb', eventSourceARN: STREAM_ARN });
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: 'https://sqs/dlq',
      ReceiptHandle: 'r1',
    });
  });

  it('keeps the message when records fail again, and when the stream no longer has them', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'again', ReceiptHandle: 'r1', Body: failure('100', '102') },
          { MessageId: 'trimmed', ReceiptHandle: 'r2', Body: failure('5', '6') },
        ],
      })
      .resolves({ Messages: [] });
    streams
      .on(GetShardIteratorCommand, { SequenceNumber: '5' })
      .rejects(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ batchItemFailures: [{ itemIdentifier: '102' }] }) });

    const report = await run();

    expect(report.replayed).toBe(0);
    expect(report.kept).toEqual([
      { messageId: 'again', reason: '1 records failed again' },
      { messageId: 'trimmed', reason: 'the records are no longer in the stream (it keeps 24 h)' },
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });

  it('keeps the message when the consumer itself fails', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ MessageId: 'm1', ReceiptHandle: 'r1', Body: failure('100', '102') }] })
      .resolves({ Messages: [] });
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'boom' }) });
    const report = await run();
    expect(report.kept[0]?.reason).toMatch(/^the consumer failed: .*boom/);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });
});
