import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTransport, type Transporter } from 'nodemailer';
import * as z from 'zod';
import { waitForCount } from './wait-for';

/**
 * A local stand-in for the two AWS delivery APIs the platform calls (functions/store/message-sender.ts),
 * on one HTTP port, holding the calls to what AWS accepts:
 *   SES v2      POST /v2/email/outbound-emails     (SendEmail, restJson1)
 *   SMS         POST / with X-Amz-Target PinpointSMSVoiceV2.SendTextMessage (awsJson1_0)
 * Bodies are validated as the services would (unknown fields, a From address other than the verified
 * identity: MessageRejected; an unknown configuration set: NotFoundException; tags SES would refuse); each
 * accepted message is recorded and handed by SMTP to the mail catcher (text messages as mail to
 * `<digits>@sms.local`). For e-mail it then publishes the events an SES configuration set would: `Send`
 * and `Delivery`, or `Bounce` / `Complaint` for Amazon's mailbox simulator addresses
 * (bounce@simulator.amazonses.com, complaint@simulator.amazonses.com), to whoever listens (`onEvent`).
 */
export interface RecordedMessage {
  readonly channel: 'EMAIL' | 'SMS';
  readonly messageId: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly configurationSet: string | undefined;
  readonly receivedAt: number;
}

/** The SES event publishing record (as an SNS or EventBridge destination delivers it), the fields we fill. */
export interface SesEvent {
  readonly eventType: 'Send' | 'Delivery' | 'Bounce' | 'Complaint';
  readonly mail: {
    readonly timestamp: string;
    readonly messageId: string;
    readonly source: string;
    readonly destination: readonly string[];
    readonly tags: Readonly<Record<string, readonly string[]>>;
  };
  readonly delivery?: { readonly timestamp: string; readonly recipients: readonly string[] };
  readonly bounce?: {
    readonly bounceType: 'Permanent' | 'Transient';
    readonly bounceSubType: string;
    readonly bouncedRecipients: readonly { readonly emailAddress: string }[];
    readonly timestamp: string;
  };
  readonly complaint?: {
    readonly complainedRecipients: readonly { readonly emailAddress: string }[];
    readonly timestamp: string;
  };
}

export type SesEventListener = (event: SesEvent) => Promise<void> | void;

export interface SesStandInOptions {
  /** The verified sending identity: SendEmail from any other address is MessageRejected. */
  readonly fromAddress: string;
  /** Configuration sets that exist (SES and SMS); another name is NotFoundException. */
  readonly configurationSets?: readonly string[];
  /** The SMS origination identity that exists. */
  readonly smsOriginationIdentity: string;
  /** The mail catcher's SMTP port; without it messages are only recorded. */
  readonly smtpPort?: number;
  readonly log?: (line: string) => void;
}

export interface SesStandIn {
  readonly url: string;
  readonly messages: RecordedMessage[];
  /** Who hears the SES events (the local stand-in for the configuration set's event destination). */
  onEvent(listener: SesEventListener): void;
  /** Answer `status` (a throttling or service error) to the next `times` calls. */
  failNext(status: number, times?: number): void;
  waitForMessages(count: number, timeoutMs?: number): Promise<RecordedMessage[]>;
  close(): Promise<void>;
}

/** The sending identity, configuration set and SMS sender of the local runtime (names, not secrets). */
export const LOCAL_DELIVERY = {
  fromAddress: 'giftcards@giftcards.local',
  configurationSet: 'giftcard-local',
  smsOriginationIdentity: 'GIFTCARDS',
} as const;

export const SIMULATOR_BOUNCE = 'bounce@simulator.amazonses.com';
export const SIMULATOR_COMPLAINT = 'complaint@simulator.amazonses.com';

const tag = z.string().regex(/^[A-Za-z0-9_\-.@]{1,256}$/);
const content = z.strictObject({ Data: z.string().min(1), Charset: z.string().optional() });
const sendEmail = z.strictObject({
  FromEmailAddress: z.string().min(3),
  Destination: z.strictObject({
    ToAddresses: z.array(z.string().min(3)).min(1).max(50),
    CcAddresses: z.array(z.string()).max(50).optional(),
    BccAddresses: z.array(z.string()).max(50).optional(),
  }),
  Content: z.strictObject({
    Simple: z.strictObject({
      Subject: content,
      Body: z.strictObject({ Text: content.optional(), Html: content.optional() }),
    }),
  }),
  ConfigurationSetName: z.string().optional(),
  EmailTags: z
    .array(z.strictObject({ Name: tag, Value: tag }))
    .max(50)
    .optional(),
});
const sendText = z.strictObject({
  DestinationPhoneNumber: z.string().regex(/^\+[1-9]\d{6,14}$/),
  OriginationIdentity: z.string().min(1),
  MessageBody: z.string().min(1).max(1600),
  MessageType: z.enum(['TRANSACTIONAL', 'PROMOTIONAL']).optional(),
  ConfigurationSetName: z.string().optional(),
  Context: z.record(z.string().max(100), z.string().max(800)).optional(),
});

export async function startSesStandIn(options: SesStandInOptions): Promise<SesStandIn> {
  const messages: RecordedMessage[] = [];
  const listeners: SesEventListener[] = [];
  const waiters = new Set<() => void>();
  const configurationSets = new Set(options.configurationSets ?? []);
  const fault = { status: 0, remaining: 0 };
  const smtp: Transporter | undefined =
    options.smtpPort === undefined
      ? undefined
      : createTransport({ host: '127.0.0.1', port: options.smtpPort, secure: false, ignoreTLS: true });
  const log = options.log ?? (() => {});

  const record = async (message: RecordedMessage) => {
    messages.push(message);
    for (const wake of [...waiters]) wake();
    if (!smtp) return;
    await smtp.sendMail({
      from:
        message.channel === 'SMS' ? `"SMS ${options.smsOriginationIdentity}" <sms@sms.local>` : message.from,
      to: message.channel === 'SMS' ? `${message.to.replace(/\D/g, '')}@sms.local` : message.to,
      subject: message.channel === 'SMS' ? `SMS to ${message.to}` : message.subject,
      text: message.text,
      ...(message.html ? { html: message.html } : {}),
      headers: { 'X-SES-MESSAGE-ID': message.messageId },
    });
  };

  const publish = async (event: SesEvent) => {
    for (const listener of listeners) {
      try {
        await listener(event);
      } catch (error) {
        log(
          `SES event listener failed on ${event.eventType}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  };

  const handleSendEmail = async (body: unknown, response: ServerResponse) => {
    const parsed = sendEmail.safeParse(body);
    if (!parsed.success)
      return awsError(response, 400, 'BadRequestException', parsed.error.issues[0]?.message ?? 'invalid');
    const request = parsed.data;
    if (!addressOf(request.FromEmailAddress).endsWith(options.fromAddress.toLowerCase())) {
      return awsError(
        response,
        400,
        'MessageRejected',
        `Email address is not verified: ${request.FromEmailAddress}`,
      );
    }
    if (request.ConfigurationSetName && !configurationSets.has(request.ConfigurationSetName)) {
      return awsError(
        response,
        404,
        'NotFoundException',
        `Configuration set ${request.ConfigurationSetName} does not exist.`,
      );
    }
    const body_ = request.Content.Simple.Body;
    if (!body_.Text && !body_.Html)
      return awsError(response, 400, 'BadRequestException', 'Body needs Text or Html');
    const messageId = `${randomUUID()}-000000`;
    const tags = Object.fromEntries((request.EmailTags ?? []).map(({ Name, Value }) => [Name, Value]));
    const to = request.Destination.ToAddresses[0] as string;
    const message: RecordedMessage = {
      channel: 'EMAIL',
      messageId,
      from: request.FromEmailAddress,
      to,
      subject: request.Content.Simple.Subject.Data,
      text: body_.Text?.Data ?? '',
      html: body_.Html?.Data,
      tags,
      configurationSet: request.ConfigurationSetName,
      receivedAt: Date.now(),
    };
    await record(message);
    json(response, 200, { MessageId: messageId });
    void publishEvents(message);
  };

  const publishEvents = async (message: RecordedMessage) => {
    const timestamp = new Date().toISOString();
    const mail = {
      timestamp,
      messageId: message.messageId,
      source: message.from,
      destination: [message.to],
      tags: Object.fromEntries(Object.entries(message.tags).map(([name, value]) => [name, [value]])),
    };
    const recipients = [{ emailAddress: message.to }];
    await publish({ eventType: 'Send', mail });
    const address = addressOf(message.to);
    if (address === SIMULATOR_BOUNCE) {
      await publish({
        eventType: 'Bounce',
        mail,
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: recipients,
          timestamp,
        },
      });
    } else if (address === SIMULATOR_COMPLAINT) {
      await publish({ eventType: 'Delivery', mail, delivery: { timestamp, recipients: [message.to] } });
      await publish({
        eventType: 'Complaint',
        mail,
        complaint: { complainedRecipients: recipients, timestamp },
      });
    } else {
      await publish({ eventType: 'Delivery', mail, delivery: { timestamp, recipients: [message.to] } });
    }
  };

  const handleSendText = async (body: unknown, response: ServerResponse) => {
    const parsed = sendText.safeParse(body);
    if (!parsed.success)
      return awsError(response, 400, 'ValidationException', parsed.error.issues[0]?.message ?? 'invalid');
    const request = parsed.data;
    if (request.OriginationIdentity !== options.smsOriginationIdentity) {
      return awsError(response, 404, 'ResourceNotFoundException', 'The origination identity does not exist.');
    }
    if (request.ConfigurationSetName && !configurationSets.has(request.ConfigurationSetName)) {
      return awsError(response, 404, 'ResourceNotFoundException', 'The configuration set does not exist.');
    }
    const messageId = randomUUID();
    await record({
      channel: 'SMS',
      messageId,
      from: request.OriginationIdentity,
      to: request.DestinationPhoneNumber,
      subject: '',
      text: request.MessageBody,
      html: undefined,
      tags: request.Context ?? {},
      configurationSet: request.ConfigurationSetName,
      receivedAt: Date.now(),
    });
    json(response, 200, { MessageId: messageId });
  };

  const server = createServer((request, response) => {
    void (async () => {
      try {
        const body = await readJson(request);
        if (fault.remaining > 0) {
          fault.remaining -= 1;
          return awsError(
            response,
            fault.status,
            fault.status === 429 ? 'TooManyRequestsException' : 'InternalFailure',
            'injected fault',
          );
        }
        if (request.method === 'POST' && request.url === '/v2/email/outbound-emails')
          return await handleSendEmail(body, response);
        if (
          request.method === 'POST' &&
          request.headers['x-amz-target'] === 'PinpointSMSVoiceV2.SendTextMessage'
        ) {
          return await handleSendText(body, response);
        }
        awsError(
          response,
          404,
          'UnknownOperationException',
          `${request.method} ${request.url} is not an operation of this stand-in`,
        );
      } catch (error) {
        log(`SES stand-in: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) awsError(response, 500, 'InternalFailure', 'the stand-in failed');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    onEvent: (listener) => {
      listeners.push(listener);
    },
    failNext: (status, times = Number.POSITIVE_INFINITY) => {
      fault.status = status;
      fault.remaining = times;
    },
    waitForMessages: (count, timeoutMs = 10_000) =>
      waitForCount(
        waiters,
        () => messages,
        count,
        timeoutMs,
        () => `expected ${count} messages, got ${messages.length}`,
      ),
    close: async () => {
      smtp?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `"Name" <a@b.c>` or `a@b.c` -> `a@b.c`, lower-cased. */
function addressOf(mailbox: string): string {
  const match = /<([^>]+)>\s*$/.exec(mailbox);
  return (match ? (match[1] as string) : mailbox).trim().toLowerCase();
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 10 * 1024 * 1024) throw new Error('request body over 10 MB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length === 0 ? {} : JSON.parse(text);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function awsError(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  response.end(JSON.stringify({ __type: type, message }));
}
