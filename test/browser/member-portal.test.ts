import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import type { LocalStack } from '../../local/stack';
import { buildWebApps } from '../../local/web/build';
import {
  type AxeViolation,
  axeViolations,
  launchBrowser,
  screenshot,
  type TestBrowser,
} from '../support/browser';
import { call } from '../support/loyalty';
import { mailbox } from '../support/mailbox';
import { startTestStack } from '../support/stack';

/**
 * The loyalty member pages of the portal in a real browser (the machine's Chromium) against the local
 * runtime: register with consent, sign in with the code the delivery service mailed (read from the
 * local mail catcher), link a card by its code, see the points its redemption earned (the real loyalty
 * stream consumer), redeem a reward onto the card, sign out. Pages are scanned with axe-core.
 */
let stack: LocalStack;
let browser: TestBrowser;
let demo: NonNullable<LocalStack['demo']>;
let loyaltyProgramId: string;
const violations: AxeViolation[] = [];
/** How long a page may take to show what the API answered (a bound on waiting, not a measured figure). */
const EVENTUALLY = { timeout: 60_000, interval: 500 };

beforeAll(async () => {
  await buildWebApps({ quiet: true });
  stack = await startTestStack({
    consumers: STREAM_CONSUMERS.filter((c) => c.name === 'loyalty'),
    mailCatcher: { smtpPort: 0, webPort: 0 },
  });
  if (!stack.demo) throw new Error('no demo data');
  demo = stack.demo;
  const program = await call('POST', '/v1/loyalty/programs', demo.staffTokens.admin, {
    name: 'Browser friends',
    cardProgramIds: [demo.programId],
    currency: 'USD',
    earn: { pointsPerUnitRedeemed: 10, pointsPerUnitLoaded: 0 },
    pointValueMilliMinor: 1_000,
  });
  loyaltyProgramId = program.id;
  await call('POST', `/v1/loyalty/programs/${loyaltyProgramId}/rewards`, demo.staffTokens.admin, {
    name: 'Five dollars',
    pointsCost: 100,
    valueMinor: 500,
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('member portal', () => {
  it('registers with consent, signs in with the mailed code, links a card, sees its points and redeems', async () => {
    const contact = `browser-${randomUUID()}@example.com`;
    const issued = await call('POST', '/v1/cards', demo.staffTokens.support, {
      programId: demo.programId,
      type: 'DIGITAL',
      amount: 5_000,
      activate: true,
    });
    const page = await browser.context.newPage();
    await page.goto(`${stack.baseUrl}/#/member/${loyaltyProgramId}`);
    await page.getByRole('button', { name: 'Register as a member' }).click();
    await page.getByLabel('E-mail address').fill(contact);
    const register = page.getByRole('button', { name: 'Register', exact: true });
    // No consent, no registration.
    expect(await register.isDisabled()).toBe(true);
    await page.getByLabel(/I accept the programme terms/).check();
    await screenshot(page, 'member-register');
    violations.push(...(await axeViolations(page, 'member-register')));
    await register.click();
    await expect
      .poll(() => page.getByTestId('member-notice').textContent(), EVENTUALLY)
      .toContain('You are registered');

    await page.getByLabel('E-mail address').fill(contact);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    const mail = await mailbox(stack).waitFor(contact, undefined, 60_000);
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
    expect(code).toMatch(/^\d{6}$/);
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill(code ?? '');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByTestId('member-points').textContent(), EVENTUALLY).toBe('0');
    expect(await page.getByTestId('member-tier').textContent()).toBe('BASE');

    await page.getByLabel('Card code').fill(issued.code);
    await page.getByRole('button', { name: 'Link card' }).click();
    const last4 = issued.card.last4 as string;
    await expect
      .poll(() => page.getByTestId('member-cards').textContent(), EVENTUALLY)
      .toContain(`Card ending ${last4}`);

    // $25 redeemed at 10 points a dollar: the loyalty consumer earns 250 points from the ledger stream.
    await call('POST', `/v1/cards/${issued.card.id}/redeem`, demo.apiKey, { amount: 2_500 });
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return page.getByTestId('member-points').textContent();
      }, EVENTUALLY)
      .toBe('250');
    expect(await page.getByTestId('member-history').textContent()).toContain('+250');
    await screenshot(page, 'member-home');
    violations.push(...(await axeViolations(page, 'member-home')));

    await page.getByRole('button', { name: 'Redeem Five dollars' }).click();
    await expect
      .poll(() => page.getByTestId('member-home-notice').textContent(), EVENTUALLY)
      .toBe(`$5.00 added to the card ending ${last4}.`);
    await expect.poll(() => page.getByTestId('member-points').textContent(), EVENTUALLY).toBe('150');
    const card = await call('GET', `/v1/cards/${issued.card.id}`, demo.staffTokens.support);
    expect(card.balance).toBe(5_000 - 2_500 + 500);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect
      .poll(() => page.getByTestId('member-notice').textContent(), EVENTUALLY)
      .toBe('You are signed out.');
    expect(violations).toEqual([]);
  });
});
