import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../functions/core/outbound-message';
import { DeliveryNotConfigured, sendMessage } from '../../functions/store/message-sender';
import { type MailCatcher, startMailCatcher } from '../../local/mail-catcher';
import {
  LOCAL_DELIVERY,
  type SesEvent,
  type SesStandIn,
  SIMULATOR_BOUNCE,
  startSesStandIn,
} from '../../local/ses-stand-in';
import { mailbox } from '../support/mailbox';
import { resetHandlerState } from '../support/reset';
import { testEnv } from '../support/table';

/**
 * The delivery service end to end on this machine: the real SESv2 and End User Messaging SMS clients of
 * functions/store/message-sender.ts, against the stand-in that holds them to the APIs, into MailDev.
 */
let catcher: MailCatcher;
let ses: SesStandIn;
const events: SesEvent[] = [];

const deliveryEnv = () => ({
  MAIL_FROM_ADDRESS: LOCAL_DELIVERY.fromAddress,
  SES_CONFIGURATION_SET: LOCAL_DELIVERY.configurationSet,
  SES_ENDPOINT: ses.url,
  SMS_ORIGINATION_IDENTITY: LOCAL_DELIVERY.smsOriginationIdentity,
  SMS_CONFIGURATION_SET: LOCAL_DELIVERY.configurationSet,
  SMS_ENDPOINT: ses.url,
});

const use = (variables: Record<string, string | undefined>) => {
  for (const [name, value] of Object.entries(variables)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetHandlerState();
};

const email = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
  channel: 'EMAIL',
  to: 'ada@example.com',
  subject: 'A gift card for you',
  text: 'Open your gift: https://example.test/claim#token',
  html: '<p>Open your gift</p>',
  purpose: 'EGIFT',
  reference: `dlv-${Math.random().toString(36).slice(2)}`,
  ...overrides,
});

beforeAll(async () => {
  await testEnv();
  catcher = await startMailCatcher({ smtpPort: 0, webPort: 0 });
  ses = await startSesStandIn({
    fromAddress: LOCAL_DELIVERY.fromAddress,
    configurationSets: [LOCAL_DELIVERY.configurationSet],
    smsOriginationIdentity: LOCAL_DELIVERY.smsOriginationIdentity,
    smtpPort: catcher.smtpPort,
  });
  ses.onEvent((event) => {
    events.push(event);
  });
}, 60_000);

afterAll(async () => {
  await ses?.close();
  await catcher?.stop();
});

afterEach(() => use(deliveryEnv()));

describe('the delivery service', () => {
  it('sends an e-mail through SES that a person reads in the mail catcher, tagged for its events', async () => {
    use(deliveryEnv());
    const message = email();
    const sent = await sendMessage(message);
    expect(sent.providerMessageId).toMatch(/^[0-9a-f-]{36}-000000$/);
    const mail = await mailbox({ mailCatcher: catcher }).waitFor(
      'ada@example.com',
      (m) => m.subject === message.subject,
    );
    expect(mail.text).toContain('Open your gift');
    expect(mail.html).toContain('<p>Open your gift</p>');
    expect(mail.from).toEqual([LOCAL_DELIVERY.fromAddress]);
    const recorded = ses.messages.find((m) => m.messageId === sent.providerMessageId);
    expect(recorded).toMatchObject({
      configurationSet: LOCAL_DELIVERY.configurationSet,
      tags: { purpose: 'EGIFT', reference: message.reference },
    });
    await expect
      .poll(() => events.filter((e) => e.mail.messageId === sent.providerMessageId).map((e) => e.eventType))
      .toEqual(['Send', 'Delivery']);
  });

  it('sends a text message through End User Messaging SMS, shown in the catcher as mail to the number', async () => {
    use(deliveryEnv());
    const sent = await sendMessage({
      channel: 'SMS',
      to: '+447700900123',
      subject: '',
      text: 'Your sign-in code is 482913',
      purpose: 'MEMBER_SIGN_IN',
      reference: 'signin-1',
    });
    const mail = await mailbox({ mailCatcher: catcher }).waitFor('+447700900123');
    expect(mail.text).toContain('Your sign-in code is 482913');
    expect(ses.messages.find((m) => m.messageId === sent.providerMessageId)?.tags).toEqual({
      purpose: 'MEMBER_SIGN_IN',
      reference: 'signin-1',
    });
  });

  it("reports a bounce for Amazon's simulator address with the message's tags", async () => {
    use(deliveryEnv());
    const message = email({ to: SIMULATOR_BOUNCE });
    const sent = await sendMessage(message);
    await expect
      .poll(() => events.find((e) => e.mail.messageId === sent.providerMessageId && e.eventType === 'Bounce'))
      .toMatchObject({
        bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: SIMULATOR_BOUNCE }] },
        mail: { tags: { reference: [message.reference], purpose: ['EGIFT'] } },
      });
  });

  it('retries a throttled call and then succeeds once', async () => {
    use(deliveryEnv());
    const before = ses.messages.length;
    ses.failNext(429, 1);
    await sendMessage(email());
    expect(ses.messages.length).toBe(before + 1);
  });

  it('fails without sending when the sender is not the verified identity', async () => {
    use({ ...deliveryEnv(), MAIL_FROM_ADDRESS: 'someone@elsewhere.example' });
    const before = ses.messages.length;
    await expect(sendMessage(email())).rejects.toMatchObject({ name: 'MessageRejected' });
    expect(ses.messages.length).toBe(before);
  });

  it('fails with DeliveryNotConfigured for a channel the deployment has no identity for', async () => {
    use({ ...deliveryEnv(), SMS_ORIGINATION_IDENTITY: undefined });
    await expect(
      sendMessage({
        channel: 'SMS',
        to: '+447700900123',
        subject: '',
        text: 'x',
        purpose: 'P',
        reference: 'r',
      }),
    ).rejects.toBeInstanceOf(DeliveryNotConfigured);
  });

  it('refuses a message no provider would take before calling one', async () => {
    use(deliveryEnv());
    const before = ses.messages.length;
    await expect(sendMessage(email({ to: 'not an address' }))).rejects.toThrow(/valid EMAIL address/);
    await expect(sendMessage(email({ reference: 'has spaces' }))).rejects.toThrow(/tag-safe/);
    await expect(
      sendMessage({
        channel: 'SMS',
        to: '07700900123',
        subject: '',
        text: 'x',
        purpose: 'P',
        reference: 'r',
      }),
    ).rejects.toThrow(/valid SMS address/);
    expect(ses.messages.length).toBe(before);
  });
});
