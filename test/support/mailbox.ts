import type { LocalStack } from '../../local/stack';

/** One message as the mail catcher shows it to a person (MailDev's REST API, `GET /email`). */
export interface CaughtMail {
  readonly id: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly to: readonly string[];
  readonly from: readonly string[];
  /** Headers as received, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

interface MailDevAddress {
  readonly address: string;
}
interface MailDevEmail {
  readonly id: string;
  readonly subject?: string;
  readonly text?: string;
  readonly html?: string;
  readonly to?: readonly MailDevAddress[];
  readonly from?: readonly MailDevAddress[];
  readonly headers?: Record<string, string>;
}

export interface Mailbox {
  /** Every message the catcher holds now. */
  all(): Promise<CaughtMail[]>;
  /**
   * The first message to `to` (an e-mail address, or a phone number: text messages arrive as mail to
   * `<digits>@sms.local`) that `matches`; polls the catcher until it arrives, fails after `timeoutMs`.
   */
  waitFor(to: string, matches?: (mail: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
}

/** The mail catcher of a test stack started with `mailCatcher: { smtpPort: 0, webPort: 0 }`. */
export function mailbox(stack: Pick<LocalStack, 'mailCatcher'>): Mailbox {
  const catcher = stack.mailCatcher;
  if (!catcher)
    throw new Error('this stack has no mail catcher: start it with mailCatcher: { smtpPort: 0, webPort: 0 }');
  const all = async (): Promise<CaughtMail[]> => {
    const answer = await fetch(`${catcher.webUrl}/email`);
    if (!answer.ok) throw new Error(`mail catcher answered ${answer.status}`);
    return ((await answer.json()) as MailDevEmail[]).map(caught);
  };
  return {
    all,
    waitFor: async (to, matches = () => true, timeoutMs = 15_000) => {
      const address = recipientAddress(to);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await all()).find((mail) => mail.to.includes(address) && matches(mail));
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`no message to ${address} reached the mail catcher in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

function recipientAddress(to: string): string {
  return to.startsWith('+') ? `${to.replace(/\D/g, '')}@sms.local` : to.toLowerCase();
}

function caught(email: MailDevEmail): CaughtMail {
  return {
    id: email.id,
    subject: email.subject ?? '',
    text: email.text ?? '',
    html: email.html ?? '',
    to: (email.to ?? []).map(({ address }) => address.toLowerCase()),
    from: (email.from ?? []).map(({ address }) => address.toLowerCase()),
    headers: Object.fromEntries(
      Object.entries(email.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
    ),
  };
}
