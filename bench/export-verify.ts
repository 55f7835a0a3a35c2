/**
 * Export verification's memory (issue #18): a generated balances part of N rows (the export's columns,
 * real-sized ids and a 64-hex chain hash on each row) in s3rver, read by the verifier's streaming path
 * (functions/app/export-verify.ts: the file's SHA-256 as a stream, then the part unzipped and parsed as
 * read, each row into the part's Merkle root and the head-set digest) and, for comparison, by the
 * whole-file path the verifier had before (bytes, gunzipSync, readCsv, every head in an array). Each
 * read runs in a fresh child process so its peak RSS (getrusage maxrss) is its own; a child that only
 * loads the same modules gives the floor. Peak RSS also counts garbage V8 has not collected yet, so each
 * child also reports its live heap: the largest heap left after a forced full GC (--expose-gc), sampled
 * every 10,000 rows while streaming, and with every head in hand for the whole-file read. The table side
 * (one Query per card) is not part of it: it holds one card's entries at a time. Prints { rows: [...], streaming: {...}, whole: {...} } per size.
 * Knobs: BENCH_VERIFY_ROWS (200000; also run at a quarter of it to show what grows).
 */
import '../local/quiet-logs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { headsOfPart } from '../functions/app/export-verify';
import { resetConfigForTests } from '../functions/config';
import { csvRow } from '../functions/core/csv';
import { readCsv } from '../functions/core/csv-read';
import { BALANCE_COLUMNS } from '../functions/core/export-ledger';
import { HeadSet } from '../functions/core/head-set';
import { headLeaf, MerkleRoot } from '../functions/core/merkle-root';
import { exportObject, exportObjectSha256 } from '../functions/store/ledger-chain-reads';
import { exportBucket, s3 } from '../functions/store/s3-client';
import { findFreePort } from '../local/ports';
import { startS3Local } from '../local/s3';
import { emit, knob, progress } from './lib/env';
import { machine } from './lib/machine';

const ROWS = knob('VERIFY_ROWS', 200_000);
const KEY_PREFIX = 'bench-verify/balances/';
const LIVE_SAMPLE_ROWS = 10_000;

/** The heap still reachable after a full collection (the children run with --expose-gc), MB. */
function liveHeapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
}

type Mode = 'floor' | 'streaming' | 'whole';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');

/** N balances rows as the export writes them, gzip. */
function balancesPart(rows: number): Buffer {
  const lines = [csvRow([...BALANCE_COLUMNS])];
  for (let index = 0; index < rows; index++) {
    const id = hex(`card ${index}`).slice(0, 26);
    lines.push(
      csvRow([
        `card_${id}`,
        'prog_01jq3v6y8k2m4n5p6r7s8t9vwx',
        'EUR',
        (index * 37) % 100_000,
        (index * 41) % 100_000,
        `tx_${hex(`tx ${index}`).slice(0, 26)}`,
        '2026-06-30T21:14:03.120Z',
        1 + (index % 40),
        hex(`entry ${index}`),
      ]),
    );
  }
  return gzipSync(lines.join(''));
}

const leafOf = (head: { cardId: string; currency: string; balance: number; seq: number; hash?: string }) =>
  headLeaf({ ...head, chainSeq: head.seq, chainHash: head.hash });

/** In the child: one way of reading the part; its peak RSS and what it computed. */
async function child(mode: Mode, key: string): Promise<Record<string, unknown>> {
  const started = performance.now();
  const tree = new MerkleRoot();
  let sha256 = '';
  let live = liveHeapMb();
  if (mode === 'streaming') {
    const set = new HeadSet();
    sha256 = await exportObjectSha256(key);
    for await (const head of headsOfPart(key)) {
      tree.add(leafOf(head));
      set.add({ cardId: head.cardId, seq: head.seq, hash: head.hash, balance: head.balance });
      if (tree.leaves % LIVE_SAMPLE_ROWS === 0) live = Math.max(live, liveHeapMb());
    }
    live = Math.max(live, liveHeapMb());
  } else if (mode === 'whole') {
    const bytes = await exportObject(key);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    const { gunzipSync } = await import('node:zlib');
    const heads = readCsv(gunzipSync(bytes).toString('utf8')).map((row) => ({
      cardId: row.card_id ?? '',
      currency: row.currency ?? '',
      balance: Number(row.balance),
      seq: Number(row.chain_seq),
      ...(row.chain_hash ? { hash: row.chain_hash } : {}),
    }));
    // Sampled while `heads` is still used below (after its last use V8 may collect it).
    live = Math.max(live, liveHeapMb());
    for (const head of heads) tree.add(leafOf(head));
  }
  return {
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
    liveHeapMb: live,
    rows: tree.leaves,
    root: tree.root(),
    sha256,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

function runChild(
  mode: Mode,
  key: string,
  env: NodeJS.ProcessEnv,
  nodeFlags: readonly string[] = [],
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const args = [...nodeFlags, '--expose-gc', '--import', 'tsx', import.meta.filename, 'child', mode, key];
    const process_ = spawn(process.execPath, args, {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    process_.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    process_.on('error', reject);
    process_.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${mode} child exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-verify-'));
  const s3Local = await startS3Local({ port: await findFreePort(), directory: join(dir, 's3') });
  process.env.S3_ENDPOINT = s3Local.endpoint;
  process.env.EXPORT_BUCKET_NAME = s3Local.bucket;
  // The config asks for these; nothing here reads the table or checks a token.
  process.env.TABLE_NAME ??= 'bench-verify-no-table';
  process.env.STAFF_JWT_ISSUER ??= 'bench-verify';
  process.env.CODE_PEPPER ??= 'bench-verify-pepper-not-used-by-anything-here';
  process.env.STAFF_JWKS_JSON ??= '{"keys":[]}';
  resetConfigForTests();
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const sizes = [];
  try {
    for (const rows of [Math.round(ROWS / 4), ROWS]) {
      const body = balancesPart(rows);
      const key = `${KEY_PREFIX}part-${rows}.csv.gz`;
      await s3().send(new PutObjectCommand({ Bucket: exportBucket(), Key: key, Body: body }));
      progress(`${rows} rows, ${(body.length / 1e6).toFixed(1)} MB gzip: reading three ways`);
      const floor = await runChild('floor', key, env);
      const streaming = await runChild('streaming', key, env);
      const whole = await runChild('whole', key, env);
      if (streaming.root !== whole.root || streaming.sha256 !== whole.sha256 || streaming.rows !== rows) {
        throw new Error(`the streaming and whole-file reads disagree at ${rows} rows`);
      }
      sizes.push({
        rows,
        gzipMb: Math.round(body.length / 1e5) / 10,
        floorPeakRssMb: floor.peakRssMb,
        floorLiveHeapMb: floor.liveHeapMb,
        streaming: {
          peakRssMb: streaming.peakRssMb,
          liveHeapMb: streaming.liveHeapMb,
          seconds: streaming.seconds,
        },
        whole: { peakRssMb: whole.peakRssMb, liveHeapMb: whole.liveHeapMb, seconds: whole.seconds },
      });
    }
  } finally {
    await s3Local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  emit({ benchmark: 'export-verify', machine: machine(), sizes });
}

if (process.argv[2] === 'child') {
  const [mode, key] = [process.argv[3] as Mode, process.argv[4] ?? ''];
  child(mode, key)
    .then((result) => emit(result))
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    });
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
