import { PinpointSMSVoiceV2Client, SendTextMessageCommand } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { config } from '../config';
import { assertSendable, type OutboundMessage } from '../core/outbound-message';
import { traced } from '../observability/tracer';

/**
 * The delivery service: one call sends one message, by e-mail through Amazon SES (v2 API) or by text
 * through AWS End User Messaging SMS (the `pinpoint-sms-voice-v2` API), and answers the provider's message
 * id. Both calls carry the message's `purpose` and `reference` as tags (SES `EmailTags`, SMS `Context`), so
 * the events the configuration sets publish (delivery, bounce, complaint) name the message they are about.
 *
 * In AWS the SDKs use their regional endpoints and the function's role; under `npm start` and in tests
 * SES_ENDPOINT and SMS_ENDPOINT point at local/ses-stand-in.ts, which speaks the same two APIs and hands
 * every message to the local mail catcher. The same code path runs in both.
 *
 * A send is not idempotent at the provider: callers record that a message went out (conditionally, with
 * the returned id) and never send the same reference twice.
 */
export class DeliveryNotConfigured extends Error {
  constructor(channel: OutboundMessage['channel']) {
    super(
      channel === 'EMAIL'
        ? 'e-mail delivery is not configured (MAIL_FROM_ADDRESS)'
        : 'text message delivery is not configured (SMS_ORIGINATION_IDENTITY)',
    );
    this.name = 'DeliveryNotConfigured';
  }
}

export interface MessageSent {
  readonly providerMessageId: string;
}

let ses: SESv2Client | undefined;
let sms: PinpointSMSVoiceV2Client | undefined;

function sesClient(): SESv2Client {
  if (!ses) {
    const { AWS_REGION, SES_ENDPOINT } = config();
    ses = traced(
      new SESv2Client({
        region: AWS_REGION,
        maxAttempts: 3,
        ...(SES_ENDPOINT ? { endpoint: SES_ENDPOINT } : {}),
      }),
    );
  }
  return ses;
}

function smsClient(): PinpointSMSVoiceV2Client {
  if (!sms) {
    const { AWS_REGION, SMS_ENDPOINT } = config();
    sms = traced(
      new PinpointSMSVoiceV2Client({
        region: AWS_REGION,
        maxAttempts: 3,
        ...(SMS_ENDPOINT ? { endpoint: SMS_ENDPOINT } : {}),
      }),
    );
  }
  return sms;
}

/** Whether a channel can send in this deployment (a route offering SMS asks before accepting an order). */
export function deliveryConfigured(channel: OutboundMessage['channel']): boolean {
  const settings = config();
  return channel === 'EMAIL'
    ? settings.MAIL_FROM_ADDRESS !== undefined
    : settings.SMS_ORIGINATION_IDENTITY !== undefined;
}

export async function sendMessage(message: OutboundMessage): Promise<MessageSent> {
  assertSendable(message);
  return message.channel === 'EMAIL' ? sendEmail(message) : sendText(message);
}

async function sendEmail(message: OutboundMessage): Promise<MessageSent> {
  const { MAIL_FROM_ADDRESS, MAIL_FROM_NAME, SES_CONFIGURATION_SET } = config();
  if (!MAIL_FROM_ADDRESS) throw new DeliveryNotConfigured('EMAIL');
  const answer = await sesClient().send(
    new SendEmailCommand({
      FromEmailAddress: `"${MAIL_FROM_NAME}" <${MAIL_FROM_ADDRESS}>`,
      Destination: { ToAddresses: [message.to] },
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.text, Charset: 'UTF-8' },
            ...(message.html ? { Html: { Data: message.html, Charset: 'UTF-8' } } : {}),
          },
        },
      },
      ...(SES_CONFIGURATION_SET ? { ConfigurationSetName: SES_CONFIGURATION_SET } : {}),
      EmailTags: [
        { Name: 'purpose', Value: message.purpose },
        { Name: 'reference', Value: message.reference },
      ],
    }),
  );
  if (!answer.MessageId) throw new Error('SES answered without a MessageId');
  return { providerMessageId: answer.MessageId };
}

async function sendText(message: OutboundMessage): Promise<MessageSent> {
  const { SMS_ORIGINATION_IDENTITY, SMS_CONFIGURATION_SET } = config();
  if (!SMS_ORIGINATION_IDENTITY) throw new DeliveryNotConfigured('SMS');
  const answer = await smsClient().send(
    new SendTextMessageCommand({
      DestinationPhoneNumber: message.to,
      OriginationIdentity: SMS_ORIGINATION_IDENTITY,
      MessageBody: message.text,
      MessageType: 'TRANSACTIONAL',
      ...(SMS_CONFIGURATION_SET ? { ConfigurationSetName: SMS_CONFIGURATION_SET } : {}),
      Context: { purpose: message.purpose, reference: message.reference },
    }),
  );
  if (!answer.MessageId) throw new Error('SMS answered without a MessageId');
  return { providerMessageId: answer.MessageId };
}

export function resetMessageSenderForTests(): void {
  ses?.destroy();
  sms?.destroy();
  ses = undefined;
  sms = undefined;
}
