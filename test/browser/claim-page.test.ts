import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { buildWebApps } from '../../local/web/build';
import {
  type AxeViolation,
  axeViolations,
  launchBrowser,
  screenshot,
  type TestBrowser,
} from '../support/browser';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * The e-gift claim page of the card-holder portal (issue #19) in a real browser (the machine's Chromium),
 * against the whole local runtime: an e-gift ordered through the API, its claim link taken from the
 * message the SES stand-in received, opened as the recipient would. The page shows the code, the balance,
 * the sender's message and the wallet buttons; an unknown token and a link replaced by a resend show the
 * same page. Every page visited is scanned with axe-core and photographed into test-artifacts/screenshots.
 */
let stack: LocalStack;
let browser: TestBrowser;
let demo: NonNullable<LocalStack['demo']>;
const violations: AxeViolation[] = [];
/** How long a page may take to show what the API answered (a bound on waiting, not a measured figure). */
const EVENTUALLY = { timeout: 60_000 };

beforeAll(async () => {
  await buildWebApps({ quiet: true });
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('no demo data');
  demo = stack.demo;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The claim link of the last message the SES stand-in took for `email`. */
async function claimLinkFor(email: string, after = 0): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const message = stack.ses.messages.filter((m) => m.to.includes(email)).at(-1);
    const link = message && /https?:\/\/\S+\/portal\/claim#token=[A-Za-z0-9_-]{43}/.exec(message.text)?.[0];
    if (message && link && message.receivedAt >= after) return link;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no claim link sent to ${email}`);
}

async function open(link: string, name: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(link);
  await page.getByRole('heading', { name: 'Your gift card' }).waitFor(EVENTUALLY);
  await page.locator('[data-testid="claim-code"], [data-testid="claim-error"]').first().waitFor(EVENTUALLY);
  await screenshot(page, name);
  violations.push(...(await axeViolations(page, name)));
  return page;
}

describe('the claim page', () => {
  let cardId: string;
  let firstLink: string;

  it('opens the card from the message: code, balance, message and wallet buttons', async () => {
    const ordered = await request<{ card: { id: string; last4: string } }>('POST', '/v1/egift-orders', {
      token: demo.apiKey,
      headers: { 'Idempotency-Key': randomUUID() },
      body: {
        programId: demo.programId,
        amount: 4_200,
        senderName: 'Aunt Mary',
        message: 'Happy birthday, Sam!',
        recipient: { name: 'Sam', email: 'sam.claim@example.com' },
      },
    });
    expect(ordered.status, JSON.stringify(ordered.body)).toBe(201);
    cardId = ordered.body.card.id;
    firstLink = await claimLinkFor('sam.claim@example.com');
    expect(firstLink.startsWith(`${stack.baseUrl}/portal/claim#token=`)).toBe(true);

    const page = await open(firstLink, 'portal-claim');
    const code = (await page.getByTestId('claim-code').textContent())?.trim() ?? '';
    expect(code.endsWith(ordered.body.card.last4)).toBe(true);
    // The code shown is the card's: a lookup by it finds the ordered card.
    const looked = await request<{ id: string }>('POST', '/v1/cards/lookup', {
      token: demo.staffTokens.support,
      body: { code },
    });
    expect(looked.body.id).toBe(cardId);
    expect(await page.getByTestId('claim-balance').textContent()).toContain('42.00');
    expect(await page.getByTestId('claim-message').textContent()).toBe('Happy birthday, Sam!');
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toContain('from Aunt Mary');
    await expect
      .poll(() => page.getByRole('link', { name: 'Add to Apple Wallet' }).count(), EVENTUALLY)
      .toBe(1);
    expect(await page.getByRole('button', { name: 'Save to Google Wallet' }).count()).toBe(1);
    const apple = await page.getByRole('link', { name: 'Add to Apple Wallet' }).getAttribute('href');
    expect(apple).toMatch(/\/v1\/portal\/wallet\/apple\/gc_/);
    await page.close();
  });

  it('shows an unknown token and a link replaced by a resend the same way, without a card', async () => {
    const resent = await request('POST', `/v1/cards/${cardId}/delivery/resend`, {
      token: demo.staffTokens.support,
      body: { reason: 'the recipient lost the message' },
    });
    expect(resent.status, JSON.stringify(resent.body)).toBe(200);
    const unknown = await open(
      `${stack.baseUrl}/portal/claim#token=${'A'.repeat(43)}`,
      'portal-claim-unknown',
    );
    const unknownText = await unknown.locator('main').textContent();
    const replaced = await open(firstLink, 'portal-claim-replaced');
    expect(await replaced.locator('main').textContent()).toBe(unknownText);
    expect(await replaced.getByTestId('claim-code').count()).toBe(0);
    expect(unknownText).toContain('ask the sender to send it again');
    const noToken = await open(`${stack.baseUrl}/portal/claim`, 'portal-claim-no-token');
    expect(await noToken.locator('main').textContent()).toBe(unknownText);
    for (const page of [unknown, replaced, noToken]) await page.close();
  });

  it('has no accessibility violations (axe-core)', () => {
    expect(violations).toEqual([]);
  });
});
