import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOps } from '../../local/ops';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { decryptPart, type PrinterKeys, printerKeyPair, registerPrinter } from '../support/production';
import { startTestStack } from '../support/stack';

/**
 * `npm run ops -- production` against a local stack (local/ops/production.ts): it follows an order's
 * generation with a progress bar, lists its cartons and downloads its encrypted printer file parts
 * through the audited links, and never holds a code in clear: what it prints and writes names none.
 */
let stack: LocalStack;
let ops: string;
let keys: PrinterKeys;
let printerId: string;
let dir: string;

function capture() {
  const out: string[] = [];
  const progress: string[] = [];
  return {
    io: { out: (text: string) => out.push(text), progress: (text: string) => progress.push(text) },
    out,
    progress,
  };
}

beforeAll(async () => {
  stack = await startTestStack({ consumers: [] });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ops = demo.staffTokens.ops;
  keys = await printerKeyPair();
  printerId = await registerPrinter(demo.staffTokens.admin, keys);
  dir = mkdtempSync(join(tmpdir(), 'ops-production-'));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run ops -- production', () => {
  it('follows an order to DONE, lists its cartons and downloads its encrypted parts, with progress bars', async () => {
    const placed = await request('POST', '/v1/production/orders', {
      token: ops,
      body: {
        programId: stack.demo?.programId,
        count: 30,
        withPin: false,
        artworkRef: 'ART-CLI',
        printerId,
        layout: 'CSV',
        cartonCards: 10,
      },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(202);
    const target = join(dir, 'parts');
    const { io, out, progress } = capture();
    const args = ['production', '--order', placed.body.id, '--watch', '--cartons', '--download', target];
    const code = await runOps([...args, '--api', stack.baseUrl, '--token', ops], io);
    expect(code, progress.join('')).toBe(0);

    const report = JSON.parse(out.join(''));
    expect(report.order).toMatchObject({ id: placed.body.id, generation: 'DONE', cartons: 3 });
    expect(report.cartons.map((carton: { carton: number }) => carton.carton)).toEqual([1, 2, 3]);
    const bars = progress.join('');
    expect(bars).toContain('30/30');
    expect(bars).toMatch(/cartons \[#+\] 3\/3/);
    expect(bars).toMatch(/bytes \[#+\] (\d+)\/\1/);

    // The parts on disk are the OpenPGP messages the printer decrypts, all 30 cards in them.
    const files = readdirSync(target);
    expect(files).toEqual(report.downloaded.map((file: { name: string }) => file.name));
    const rows = [];
    for (const file of files) rows.push(...(await decryptPart(readFileSync(join(target, file)), keys)).rows);
    expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // No code in clear in what the CLI printed or wrote.
    const printed = out.join('') + bars;
    const written = files.map((file) => readFileSync(join(target, file)).toString('latin1')).join('');
    for (const row of rows) {
      expect(printed).not.toContain(row.code);
      expect(written).not.toContain(row.code);
    }
    // The handing-out of the links is audited.
    const audit = await request('GET', '/v1/audit?limit=50', { token: stack.demo?.staffTokens.admin });
    expect(audit.body.items as { action: string; subjectId: string }[]).toContainEqual(
      expect.objectContaining({ action: 'productionOrder.download', subjectId: placed.body.id }),
    );
  });

  it('refuses a missing order with the usage (exit code 2) and reports an unknown one', async () => {
    const missing = capture();
    expect(await runOps(['production', '--api', stack.baseUrl, '--token', ops], missing.io)).toBe(2);
    expect(missing.progress.join('')).toContain('--order is required');
    const unknown = capture();
    await expect(
      runOps(
        ['production', '--order', 'pord_0000000000000000000000000', '--api', stack.baseUrl, '--token', ops],
        unknown.io,
      ),
    ).rejects.toThrow(/answered 404/);
  });
});
