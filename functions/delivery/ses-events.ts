import type { SNSEvent } from 'aws-lambda';
import { markMessageEvent } from '../app/delivery-events';
import { readSesEvent } from '../core/delivery/ses-event';
import { logger } from '../logger';
import { observed } from '../observability/invocation';

/**
 * SES's events for the e-gift configuration set (bounces, complaints, deliveries), by way of an SNS topic
 * (lib/delivery-stack.ts). Each marks the delivery of the message it names. A failure throws: Lambda
 * retries the SNS invocation, then sends it to the failure queue; marking twice changes nothing.
 */
async function handle(event: SNSEvent): Promise<{ marked: number; ignored: number }> {
  let marked = 0;
  let ignored = 0;
  for (const record of event.Records) {
    const message = readSesEvent(record.Sns.Message);
    if (!message) {
      ignored++;
      continue;
    }
    if ((await markMessageEvent(message)) === 'marked') marked++;
    else ignored++;
  }
  logger.info('SES events', { marked, ignored });
  return { marked, ignored };
}

export const handler = observed(handle);
