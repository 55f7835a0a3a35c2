import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { config } from '../config';

/**
 * Dead-letter queue depths for the console's Ops page. In AWS: the region's SQS queues whose names start
 * with OPS_QUEUE_PREFIX (CloudFormation names them `<stack name>-<logical id>-<suffix>`, and every DLQ's
 * logical id starts with `Dlq`), read with ListQueues and GetQueueAttributes. Locally: the stream poller's
 * dead-letter files (one JSON line a record). Neither configured: `source: 'none'`.
 */
export interface QueueDepth {
  readonly name: string;
  readonly visible: number;
  readonly inFlight: number;
}

export interface QueueDepths {
  readonly source: 'sqs' | 'local-files' | 'none';
  readonly queues: readonly QueueDepth[];
}

/** A bound on the queues read: a region has a few dozen DLQs. */
const MAX_QUEUES = 100;

let sqs: SQSClient | undefined;
export const sqsClient = (): SQSClient => {
  sqs ??= new SQSClient({ region: config().AWS_REGION });
  return sqs;
};

export function resetQueueClientForTests(): void {
  sqs = undefined;
}

export async function deadLetterDepths(): Promise<QueueDepths> {
  const { OPS_QUEUE_PREFIX, LOCAL_DLQ_DIR } = config();
  if (OPS_QUEUE_PREFIX) return { source: 'sqs', queues: await sqsDepths(OPS_QUEUE_PREFIX) };
  if (LOCAL_DLQ_DIR) return { source: 'local-files', queues: localDepths(LOCAL_DLQ_DIR) };
  return { source: 'none', queues: [] };
}

async function sqsDepths(prefix: string): Promise<QueueDepth[]> {
  const urls: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sqsClient().send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 100, NextToken: nextToken }),
    );
    urls.push(...(page.QueueUrls ?? []));
    nextToken = page.NextToken;
  } while (nextToken && urls.length < MAX_QUEUES);
  const deadLetter = urls.filter((url) => /-Dlq/i.test(url.slice(url.lastIndexOf('/') + 1)));
  return Promise.all(
    deadLetter.slice(0, MAX_QUEUES).map(async (url) => {
      const out = await sqsClient().send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return {
        name: url.slice(url.lastIndexOf('/') + 1),
        visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    }),
  );
}

function localDepths(directory: string): QueueDepth[] {
  let files: string[];
  try {
    files = readdirSync(directory).filter((file) => file.endsWith('.jsonl'));
  } catch {
    return [];
  }
  return files.slice(0, MAX_QUEUES).map((file) => ({
    name: file.replace(/\.jsonl$/, ''),
    visible: readFileSync(join(directory, file), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '').length,
    inFlight: 0,
  }));
}
