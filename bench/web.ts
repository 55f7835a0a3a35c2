/**
 * The web apps' budgets (issue 14): JavaScript of each app's first load, gzipped (portal < 100 KB,
 * console < 300 KB), and the card page's API round trips after the console's shell has loaded (target:
 * one; the card and the first ledger page are fetched together). Builds the apps, measures the files
 * each page loads (its entry script and the chunks it preloads), then opens a card page in the machine's
 * Chromium against a local stack and reads the API calls' timings from the browser. Prints one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildWebApps, WEB_DIST } from '../local/web/build';
import { launchBrowser } from '../test/support/browser';
import { startBenchStack } from './lib/local';
import { machine } from './lib/machine';

const BUDGET_KB = { portal: 100, console: 300 } as const;

/** The JS files an HTML page loads on first load: module scripts and module preloads. */
function firstLoadJs(htmlFile: string): { files: string[]; gzipBytes: number; rawBytes: number } {
  const html = readFileSync(htmlFile, 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((match) => match[1] ?? '');
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const file of files) {
    const bytes = readFileSync(join(WEB_DIST, file));
    rawBytes += bytes.length;
    gzipBytes += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, gzipBytes, rawBytes };
}

const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

async function cardPageRoundTrips() {
  const stack = await startBenchStack();
  const browser = await launchBrowser();
  try {
    const issued = await fetch(`${stack.baseUrl}/v1/cards`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${stack.apiKey}`,
        'Idempotency-Key': randomUUID(),
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ programId: stack.programId, type: 'DIGITAL', amount: 2500, activate: true }),
    });
    const { card } = (await issued.json()) as { card: { id: string } };
    const page = await browser.context.newPage();
    await page.goto(`${stack.baseUrl}/console`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign in as support' }).click();
    await page.getByTestId('signed-in-as').waitFor();
    // A fresh load of the card page: the shell (HTML, JS, CSS, config.json), then the API.
    await page.goto(`${stack.baseUrl}/console/cards/${card.id}`);
    await page.getByTestId('card-balance').waitFor();
    const calls = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((entry) => new URL(entry.name).pathname.startsWith('/v1/'))
        .map((entry) => ({
          path: new URL(entry.name).pathname,
          startMs: entry.startTime,
          endMs: entry.startTime + entry.duration,
        })),
    );
    const shown = await page.evaluate(() => performance.now());
    // Round trips: calls that started only after another API call had ended are a further trip.
    const sorted = [...calls].sort((a, b) => a.startMs - b.startMs);
    let trips = 0;
    let tripEnd = -1;
    for (const call of sorted) {
      if (call.startMs >= tripEnd) {
        trips += 1;
        tripEnd = call.endMs;
      } else tripEnd = Math.max(tripEnd, call.endMs);
    }
    const cardCall = calls.find((call) => call.path === `/v1/cards/${card.id}`);
    const ledgerCall = calls.find((call) => call.path === `/v1/cards/${card.id}/transactions`);
    return {
      apiCalls: calls.length,
      roundTrips: trips,
      cardAndLedgerInParallel: Boolean(
        cardCall && ledgerCall && ledgerCall.startMs < cardCall.endMs && cardCall.startMs < ledgerCall.endMs,
      ),
      dataShownAtMs: Math.round(shown),
    };
  } finally {
    await browser.close();
    await stack.stop();
  }
}

async function main() {
  await buildWebApps({ quiet: true });
  const portal = firstLoadJs(join(WEB_DIST, 'index.html'));
  const consoleApp = firstLoadJs(join(WEB_DIST, 'console', 'index.html'));
  const cardPage = await cardPageRoundTrips();
  const result = {
    bench: 'web',
    machine: machine(),
    portal: {
      firstLoadJsGzipKb: kb(portal.gzipBytes),
      firstLoadJsRawKb: kb(portal.rawBytes),
      files: portal.files,
      budgetKb: BUDGET_KB.portal,
      withinBudget: kb(portal.gzipBytes) < BUDGET_KB.portal,
      loadsConsoleCode: portal.files.some((file) => file.includes('console')),
    },
    console: {
      firstLoadJsGzipKb: kb(consoleApp.gzipBytes),
      firstLoadJsRawKb: kb(consoleApp.rawBytes),
      files: consoleApp.files,
      budgetKb: BUDGET_KB.console,
      withinBudget: kb(consoleApp.gzipBytes) < BUDGET_KB.console,
    },
    cardPage: { ...cardPage, target: 'one API round trip after the shell' },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
