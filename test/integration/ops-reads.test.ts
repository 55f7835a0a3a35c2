import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetConfigForTests } from '../../functions/config';
import { type JobRun, recentJobRuns, recordedRun } from '../../functions/store/job-runs';
import { deadLetterDepths, resetQueueClientForTests } from '../../functions/store/queue-depths';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/** The Ops page's reads: job-run records on DynamoDB Local, dead-letter depths from SQS (mocked) or files. */
let table: TestTable;
const sqs = mockClient(SQSClient);

beforeAll(async () => {
  table = await createTestTable('ops-reads');
  await testEnv();
});
afterAll(async () => table.drop());
afterEach(() => {
  sqs.reset();
  delete process.env.OPS_QUEUE_PREFIX;
  delete process.env.LOCAL_DLQ_DIR;
  resetConfigForTests();
  resetQueueClientForTests();
});

describe('job runs', () => {
  it('records each run with its counts, a failing one with its error, and lists them newest first', async () => {
    await recordedRun('hold-expiry', async () => ({ examined: 3, changed: 2, failed: 0 }));
    await expect(
      recordedRun('expiry-sweep', async () => {
        throw new Error('table throttled');
      }),
    ).rejects.toThrow('table throttled');
    await recordedRun('webhook-retries', async () => ({ examined: 1, changed: 0, failed: 1 }));
    const runs = await recentJobRuns(10);
    expect(runs.map((run) => [run.job, run.status])).toEqual([
      ['webhook-retries', 'FAILED'],
      ['expiry-sweep', 'FAILED'],
      ['hold-expiry', 'SUCCEEDED'],
    ]);
    expect(runs[1]?.error).toBe('table throttled');
    expect(runs[2]).toMatchObject({ examined: 3, changed: 2, failed: 0 });
  });

  it('never fails a job because its record could not be written', async () => {
    const failingRecord = async (_run: JobRun) => {
      throw new Error('no table');
    };
    await expect(recordedRun('hold-expiry', async () => ({ changed: 1 }), failingRecord)).resolves.toEqual({
      changed: 1,
    });
  });
});

describe('dead-letter depths', () => {
  it("reads the region's GiftCard DLQs from SQS (ListQueues by prefix, then their message counts)", async () => {
    process.env.OPS_QUEUE_PREFIX = 'GiftCard-';
    resetConfigForTests();
    const base = 'https://sqs.us-east-1.amazonaws.com/123456789012';
    sqs.on(ListQueuesCommand).resolves({
      QueueUrls: [
        `${base}/GiftCard-Streams-us-east-1-Dlqfraud1A2B-XYZ`,
        `${base}/GiftCard-Api-us-east-1-Work-ABC`,
      ],
    });
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: { ApproximateNumberOfMessages: '7', ApproximateNumberOfMessagesNotVisible: '1' },
    });
    const depths = await deadLetterDepths();
    expect(depths).toEqual({
      source: 'sqs',
      queues: [{ name: 'GiftCard-Streams-us-east-1-Dlqfraud1A2B-XYZ', visible: 7, inFlight: 1 }],
    });
    expect(sqs.commandCalls(ListQueuesCommand)[0]?.args[0].input).toMatchObject({
      QueueNamePrefix: 'GiftCard-',
    });
    expect(sqs.commandCalls(GetQueueAttributesCommand)).toHaveLength(1);
  });

  it('shows the local dead-letter files under npm start, and says when neither exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-'));
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'webhooks.jsonl'), '{"a":1}\n{"a":2}\n');
      process.env.LOCAL_DLQ_DIR = dir;
      resetConfigForTests();
      expect(await deadLetterDepths()).toEqual({
        source: 'local-files',
        queues: [{ name: 'webhooks', visible: 2, inFlight: 0 }],
      });
      delete process.env.LOCAL_DLQ_DIR;
      resetConfigForTests();
      expect(await deadLetterDepths()).toEqual({ source: 'none', queues: [] });
      expect(sqs.calls()).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
