import { createHash, randomUUID } from 'node:crypto';
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
 * The staff console and the card-holder portal in a real browser (the machine's Chromium), against the
 * whole local runtime: the Vite build served by the local server, sign-in through the local OAuth issuer
 * (code + PKCE, the same flow as Cognito's hosted UI), the real handlers behind. Every page visited is
 * scanned with axe-core and photographed into test-artifacts/screenshots.
 */
let stack: LocalStack;
let browser: TestBrowser;
let demo: NonNullable<LocalStack['demo']>;
const violations: AxeViolation[] = [];
/** How long a page may take to show what the API answered (a bound on waiting, not a measured figure). */
const EVENTUALLY = { timeout: 60_000, interval: 250 };
const scanned: string[] = [];

async function scan(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  scanned.push(name);
  violations.push(...(await axeViolations(page, name)));
}

async function signIn(role: 'admin' | 'support' | 'finance' | 'ops', path = '/console'): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(`${stack.baseUrl}${path}`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/local-issuer\/oauth2\/authorize/);
  await page.getByRole('button', { name: `Sign in as ${role}` }).click();
  await page.getByTestId('signed-in-as').waitFor();
  expect(await page.getByTestId('signed-in-as').textContent()).toContain(`(${role})`);
  return page;
}

async function issueCard(programId: string, amount: number, extra: Record<string, unknown> = {}) {
  const issued = await request('POST', '/v1/cards', {
    token: demo.staffTokens.support,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount, activate: true, ...extra },
  });
  expect(issued.status).toBe(201);
  return issued.body as { card: { id: string; last4: string }; code: string };
}

beforeAll(async () => {
  await buildWebApps({ quiet: true });
  stack = await startTestStack();
  if (!stack.demo) throw new Error('no demo data');
  demo = stack.demo;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('staff console', () => {
  let card: { card: { id: string; last4: string }; code: string };
  let holdId: string;

  it('a support agent finds a card by its last 4, adjusts it with a reason and sees the entry', async () => {
    card = await issueCard(demo.programId, 2500, { customer: { id: 'cust-web-1' } });
    const signInPage = await browser.context.newPage();
    await signInPage.goto(`${stack.baseUrl}/console`);
    await scan(signInPage, 'console-sign-in');
    await signInPage.close();

    // An open hold the card page lists from the hold list route.
    const held = await request('POST', `/v1/cards/${card.card.id}/holds`, {
      token: demo.staffTokens.support,
      idempotencyKey: randomUUID(),
      body: { amount: 700, reference: 'web-hold-1' },
    });
    expect(held.status).toBe(201);
    holdId = held.body.hold.id;
    const page = await signIn('support');
    // Every program: the last-4 keys of each program's index.
    await page.getByLabel('Program').selectOption('');
    await page.getByLabel('Value').fill(card.card.last4);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: card.card.id }).waitFor();
    await scan(page, 'console-search');
    await page.getByRole('link', { name: card.card.id }).click();

    await expect.poll(() => page.getByTestId('card-balance').textContent(), EVENTUALLY).toBe('$25.00');
    expect(
      await page
        .getByTestId('holds')
        .getByRole('row', { name: /web-hold-1/ })
        .textContent(),
    ).toContain('$7.00');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page.getByLabel(/^Amount in USD/).fill('5.00');
    // No reason, no review: the reason is required.
    expect(await page.getByRole('button', { name: 'Review' }).isDisabled()).toBe(true);
    await page.getByLabel(/^Reason/).fill('Goodwill for a late delivery');
    await page.getByRole('button', { name: 'Review' }).click();
    expect(await page.getByRole('group', { name: 'Confirmation' }).textContent()).toContain('5.00 USD');
    await page.getByRole('button', { name: 'Confirm' }).click();

    await page.getByTestId('action-notice').waitFor();
    // The entry the action wrote, as the API answered it.
    expect(await page.getByTestId('entries-written').textContent()).toContain('ADJUST_INCREMENT');
    await expect.poll(() => page.getByTestId('card-balance').textContent(), EVENTUALLY).toBe('$30.00');
    const entry = page.getByTestId('ledger').getByRole('row', { name: /ADJUST_INCREMENT/ });
    expect(await entry.textContent()).toContain('Goodwill for a late delivery');
    expect(await entry.textContent()).toContain('CONSOLE');
    await scan(page, 'console-card');

    const ledger = await request('GET', `/v1/cards/${card.card.id}/transactions`, {
      token: demo.staffTokens.support,
    });
    expect(ledger.body.items[0]).toMatchObject({
      type: 'ADJUST_INCREMENT',
      amount: 500,
      reason: 'Goodwill for a late delivery',
      actor: { type: 'staff', id: 'staff-support' },
    });
    await page.close();
  });

  it('blocks the card with a reason, and the portal then refuses it', async () => {
    const portal = await browser.context.newPage();
    await portal.goto(stack.baseUrl);
    await portal.getByLabel('Card code').fill(card.code);
    await portal.getByRole('button', { name: 'Check balance' }).click();
    await expect.poll(() => portal.getByTestId('portal-balance').textContent(), EVENTUALLY).toBe('$30.00');
    await scan(portal, 'portal-balance');

    const page = await signIn('support', `/console/cards/${card.card.id}`);
    await page.getByRole('button', { name: 'Block' }).click();
    await page.getByLabel(/^Reason/).fill('Holder reported the card stolen');
    await page.getByRole('button', { name: 'Review' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByTestId('action-notice').waitFor();
    await expect.poll(() => page.locator('h1 .status').textContent(), EVENTUALLY).toBe('BLOCKED');
    await page.close();

    await portal.getByRole('button', { name: 'Check another card' }).click();
    await portal.getByLabel('Card code').fill(card.code);
    await portal.getByRole('button', { name: 'Check balance' }).click();
    await expect
      .poll(() => portal.getByTestId('portal-error').textContent(), EVENTUALLY)
      .toBe('This card is blocked. Contact customer care.');
    expect(await portal.getByTestId('portal-balance').count()).toBe(0);

    // Reissue in one action: the held value is released first, then a new card takes the whole balance.
    const voided = await request('POST', `/v1/cards/${card.card.id}/holds/${holdId}/void`, {
      token: demo.staffTokens.support,
      idempotencyKey: randomUUID(),
      body: {},
    });
    expect(voided.status).toBe(200);
    const care = await signIn('support', `/console/cards/${card.card.id}`);
    await care.getByRole('button', { name: 'Reissue' }).click();
    await care.getByLabel(/^Reason/).fill('Stolen card replaced');
    await care.getByRole('button', { name: 'Review' }).click();
    await care.getByRole('button', { name: 'Confirm' }).click();
    const newCode = String(await care.getByTestId('new-card-code').textContent());
    const written = String(await care.getByTestId('entries-written').textContent());
    for (const type of ['TRANSFER_OUT', 'DEACTIVATE', 'ISSUE', 'ACTIVATE', 'TRANSFER_IN']) {
      expect(written).toContain(type);
    }
    await expect.poll(() => care.locator('h1 .status').textContent(), EVENTUALLY).toBe('DEACTIVATED');
    await scan(care, 'console-reissue');
    await care.close();
    await portal.getByLabel('Card code').fill(newCode);
    await portal.getByRole('button', { name: 'Check balance' }).click();
    await expect.poll(() => portal.getByTestId('portal-balance').textContent(), EVENTUALLY).toBe('$30.00');
    await portal.close();
  });

  it('finance sees the liability chart match the report and downloads an export whose checksum matches', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
    // The reporting consumer trails the ledger: wait until it has counted every card issued so far.
    const cards = await request('GET', `/v1/cards?programId=${demo.programId}&limit=200`, {
      token: demo.staffTokens.finance,
    });
    const expected = (cards.body.items as { balance: number }[]).reduce((sum, c) => sum + c.balance, 0);
    const report = () =>
      request('GET', `/v1/reports/summary?from=${from}&to=${today}&currency=USD`, {
        token: demo.staffTokens.finance,
      });
    await expect
      .poll(async () => (await report()).body.items[0]?.outstandingLiability, EVENTUALLY)
      .toBe(expected);

    const page = await signIn('finance', '/console/finance');
    const shown = `$${(expected / 100).toFixed(2)}`;
    await expect.poll(() => page.getByTestId('chart-last-liability').textContent(), EVENTUALLY).toBe(shown);
    expect(await page.getByTestId('summary-liability').textContent()).toBe(shown);
    // The breakage forecast's cohorts hold the same liability, with the breakage recognised beside it.
    await expect.poll(() => page.getByTestId('breakage-liability').textContent(), EVENTUALLY).toBe(shown);
    expect(await page.getByTestId('breakage-cohorts').locator('tbody tr').count()).toBeGreaterThan(0);

    // An export as of a moment past the settle margin, started from the page.
    const cutoff = new Date(Date.now() - 60_000).toISOString().slice(0, 19);
    await page.getByLabel('Cutoff (UTC)').fill(cutoff);
    await page.getByRole('button', { name: 'Start export' }).click();
    const row = page.getByTestId('exports').locator('tbody tr').first();
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return row.locator('.export-status').textContent();
      }, EVENTUALLY)
      .toBe('SUCCEEDED');
    await scan(page, 'console-finance');
    const link = row.locator('a.export-file', { hasText: 'balances' }).first();
    const href = await link.getAttribute('href');
    const sha = await link.getAttribute('data-sha256');
    expect(href).toBeTruthy();
    const download = await fetch(String(href));
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
    expect(await row.textContent()).toContain(String(sha));
    await page.close();
  });

  it('an admin creates a key, which works, and rotates it: each new key is shown once', async () => {
    const page = await signIn('admin', '/console/admin');
    await page.getByLabel('Merchant', { exact: true }).selectOption(demo.merchantId);
    await page.getByLabel('Description of a new key').fill('web test till');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-api-key').locator('code.secret');
    await shown.waitFor();
    const created = String(await shown.textContent());
    expect(created).toMatch(/^gk_/);
    const probe = await request('GET', `/v1/cards/${card.card.id}`, { token: created });
    expect(probe.status).toBe(200);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByTestId('new-api-key').count()).toBe(0);

    const keyId = /^gk_(key_[0-9a-z]{26})_/.exec(created)?.[1];
    expect(keyId).toBeDefined();
    const keyRow = page.locator(`tr[data-key-id="${keyId}"]`);
    await keyRow.getByRole('button', { name: 'Rotate' }).click();
    await shown.waitFor();
    const rotated = String(await shown.textContent());
    expect(rotated).toMatch(/^gk_/);
    expect(rotated).not.toBe(created);
    expect((await request('GET', `/v1/cards/${card.card.id}`, { token: rotated })).status).toBe(200);
    await expect
      .poll(() => keyRow.locator('.key-state').textContent(), EVENTUALLY)
      .toMatch(/^rotated, works until/);
    await scan(page, 'console-admin');
    const editable = await request('POST', '/v1/programs', {
      token: demo.staffTokens.admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Editable rules', currency: 'USD' },
    });
    expect(editable.status).toBe(201);
    await page.getByRole('tab', { name: 'Programs' }).click();
    await page.getByRole('heading', { name: 'Programs' }).waitFor();
    await page.getByRole('button', { name: 'Edit Editable rules' }).click();
    // Limits that do not nest: the API's message shows under the field it names, and nothing changes.
    await page.getByLabel('Smallest load (USD)').fill('300.00');
    await page.getByLabel('Largest load (USD)').fill('200.00');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await expect
      .poll(() => page.locator('#prg-edit-minLoad-error').textContent(), EVENTUALLY)
      .toContain('must not exceed maxLoad');
    expect(await page.getByLabel('Smallest load (USD)').getAttribute('aria-invalid')).toBe('true');
    await scan(page, 'console-admin-programs');
    await page.getByLabel('Smallest load (USD)').fill('5.00');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByText('Saved: the rules apply').waitFor();
    const after = await request('GET', `/v1/programs/${editable.body.id}`, { token: demo.staffTokens.admin });
    expect(after.body).toMatchObject({ minLoad: 500, maxLoad: 20000 });
    await page.close();
  });

  it('the fraud queue and ops pages render for their roles', async () => {
    const support = await signIn('support', '/console/fraud');
    await support.getByRole('heading', { name: 'Fraud queue' }).waitFor();
    await support.getByText('No alerts.').waitFor();
    await scan(support, 'console-fraud');
    await support.close();

    await stack.scheduler.runNow('hold-expiry');
    const ops = await signIn('ops', '/console/ops');
    await ops.getByTestId('dlq-source').waitFor();
    expect(await ops.getByTestId('dlq-source').textContent()).toContain('Not SQS');
    await expect
      .poll(
        () =>
          ops
            .getByTestId('job-runs')
            .getByRole('row', { name: /hold-expiry/ })
            .count(),
        EVENTUALLY,
      )
      .toBeGreaterThan(0);
    await scan(ops, 'console-ops');
    // Ops has no finance or admin pages in its menu, as the API's role matrix.
    expect(await ops.getByRole('link', { name: 'Finance' }).count()).toBe(0);
    expect(await ops.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await ops.close();
  });
});

describe('card-holder portal', () => {
  it('checks a balance with code and PIN; a wrong PIN looks exactly like an unknown code', async () => {
    const program = await request('POST', '/v1/programs', {
      token: demo.staffTokens.admin,
      idempotencyKey: randomUUID(),
      body: { name: 'PIN Gift Card', currency: 'USD', pinPolicy: 'ALWAYS' },
    });
    expect(program.status).toBe(201);
    const card = await issueCard(program.body.id, 4200);
    const pinSet = await request('PUT', `/v1/cards/${card.card.id}/pin`, {
      token: demo.staffTokens.support,
      body: { pin: '4821' },
    });
    expect(pinSet.status).toBe(200);

    const page = await browser.context.newPage();
    await page.goto(stack.baseUrl);
    await scan(page, 'portal-form');
    const answers: { status: number; body: Record<string, unknown> }[] = [];
    const check = async (code: string, pin: string) => {
      await page.getByLabel('Card code').fill(code);
      await page.getByLabel('PIN (if your card has one)').fill(pin);
      const answer = page.waitForResponse((response) => response.url().endsWith('/v1/portal/balance'));
      await page.getByRole('button', { name: 'Check balance' }).click();
      const response = await answer;
      answers.push({ status: response.status(), body: (await response.json()) as Record<string, unknown> });
    };

    await check(card.code, '1111');
    const wrongPin = String(await page.getByTestId('portal-error').textContent());
    await scan(page, 'portal-miss');
    await check(`${card.code.slice(0, -4)}0000`, '4821');
    const unknownCode = String(await page.getByTestId('portal-error').textContent());
    expect(unknownCode).toBe(wrongPin);
    const [first, second] = answers.map(({ status, body }) => ({ status, ...body, requestId: undefined }));
    expect(first).toEqual(second);
    expect(first?.status).toBe(404);

    await check(card.code, '4821');
    await expect.poll(() => page.getByTestId('portal-balance').textContent(), EVENTUALLY).toBe('$42.00');
    expect(await page.getByRole('link', { name: 'Add to Apple Wallet' }).getAttribute('href')).toMatch(
      /\/v1\/portal\/wallet\/apple\/gc_/,
    );
    await page.close();
  });

  it('moves the balance to another card of the same program with the PIN', async () => {
    const from = await issueCard(demo.programId, 1500);
    const to = await issueCard(demo.programId, 500);
    const page = await browser.context.newPage();
    page.on('dialog', (dialog) => dialog.accept());
    await page.goto(stack.baseUrl);
    await page.getByLabel('Card code').fill(from.code);
    await page.getByRole('button', { name: 'Check balance' }).click();
    await page.getByRole('button', { name: 'Move the balance to another card' }).click();
    await page.getByLabel("The other card's code").fill(to.code);
    await page.getByRole('button', { name: 'Move the balance' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), EVENTUALLY).toContain('now holds $20.00');
    await scan(page, 'portal-transfer');
    const destination = await request('GET', `/v1/cards/${to.card.id}`, { token: demo.staffTokens.support });
    expect(destination.body.balance).toBe(2000);
    await page.close();
  });
});

describe('accessibility', () => {
  it('no page has a serious or critical axe-core violation', () => {
    // Every page of both apps was scanned by the tests above.
    expect(scanned).toEqual(
      expect.arrayContaining([
        'console-sign-in',
        'console-search',
        'console-card',
        'console-finance',
        'console-admin',
        'console-admin-programs',
        'console-reissue',
        'console-fraud',
        'console-ops',
        'portal-form',
        'portal-balance',
        'portal-miss',
        'portal-transfer',
      ]),
    );
    const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(blocking).toEqual([]);
  });
});
