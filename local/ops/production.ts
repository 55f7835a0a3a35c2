import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OpsArgs, type OpsCommand, type OpsIo, option, UsageError } from './command';

/**
 * `npm run ops -- production --order <id> [--watch] [--cartons] [--download <dir>] [--api <url>]
 * [--token <staff jwt>]`: an order through the HTTP API (npm start's .local/demo.json gives the URL
 * and the ops token by default). --watch follows the generation with a progress bar until DONE; --cartons
 * lists the cartons (a bar over the pages); --download fetches the encrypted printer file parts through
 * the audited links (a bar over the bytes) into <dir>. It never sees a code: the parts stay encrypted.
 */
const BAR_WIDTH = 30;

export function progressBar(label: string, done: number, total: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(share * BAR_WIDTH);
  return `\r${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total}`;
}

function endpoint(args: OpsArgs): { api: string; token: string } {
  const demoFile = join(process.cwd(), '.local', 'demo.json');
  const demo = existsSync(demoFile)
    ? (JSON.parse(readFileSync(demoFile, 'utf8')) as {
        baseUrl?: string;
        staffTokens?: Record<string, string>;
      })
    : {};
  const api = option(args, 'api') ?? demo.baseUrl;
  const token = option(args, 'token') ?? demo.staffTokens?.ops;
  if (!api || !token)
    throw new UsageError('--api and --token are required (or a .local/demo.json of npm start)');
  return { api, token };
}

async function call(
  api: string,
  token: string,
  method: string,
  path: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${api}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(`${method} ${path} answered ${response.status}: ${String(body.detail ?? '')}`);
  return body;
}

async function watch(api: string, token: string, orderId: string, io: OpsIo) {
  for (;;) {
    const order = await call(api, token, 'GET', `/v1/production/orders/${orderId}`);
    const progress = order.progress as { cards: number; cardsDone: number };
    io.progress(progressBar('cards', progress.cardsDone, progress.cards));
    if (order.generation === 'DONE' || order.generation === 'FAILED') {
      io.progress('\n');
      return order;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function cartons(api: string, token: string, orderId: string, total: number, io: OpsIo) {
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = await call(api, token, 'GET', `/v1/production/orders/${orderId}/cartons?limit=200${query}`);
    items.push(...(page.items as unknown[]));
    cursor = page.nextCursor as string | null;
    io.progress(progressBar('cartons', items.length, total));
  } while (cursor);
  io.progress('\n');
  return items;
}

async function download(api: string, token: string, orderId: string, dir: string, io: OpsIo) {
  const links = await call(api, token, 'POST', `/v1/production/orders/${orderId}/downloads`);
  const files = links.files as { name: string; url: string; bytes: number }[];
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  mkdirSync(dir, { recursive: true });
  let done = 0;
  for (const file of files) {
    const response = await fetch(file.url);
    if (!response.ok) throw new Error(`${file.name}: the link answered ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    writeFileSync(join(dir, file.name), bytes);
    done += bytes.length;
    io.progress(progressBar('bytes', done, total));
  }
  io.progress('\n');
  return files.map((file) => ({ name: file.name, bytes: file.bytes }));
}

export const productionCommand: OpsCommand = {
  name: 'production',
  summary: 'follow a production order, list its cartons, download its encrypted printer file (progress bars)',
  usage: [
    '--order <pord_...>      the order (required)',
    '--watch                 follow the generation until it is DONE or FAILED',
    '--cartons               list the cartons and where each is',
    '--download <dir>        fetch the encrypted file parts (an audited download)',
    '--api <url> --token <jwt>  default: .local/demo.json (npm start) and its ops token',
  ].join('\n'),
  run: async (args, io) => {
    const orderId = option(args, 'order');
    if (!orderId) throw new UsageError('--order is required');
    const { api, token } = endpoint(args);
    let order = await call(api, token, 'GET', `/v1/production/orders/${orderId}`);
    if (args.has('watch')) order = await watch(api, token, orderId, io);
    const report: Record<string, unknown> = { order };
    if (args.has('cartons')) report.cartons = await cartons(api, token, orderId, Number(order.cartons), io);
    const dir = option(args, 'download');
    if (dir) report.downloaded = await download(api, token, orderId, dir, io);
    io.out(JSON.stringify(report, null, 2));
    return order.generation === 'FAILED' ? 1 : 0;
  },
};
