import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

/**
 * The files of a zip (a .pkpass), read through its central directory; stored and deflated entries. Each
 * file's CRC-32 is checked against zlib's (the archive's was computed by functions/wallet/zip.ts).
 */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('broken central directory');
    const method = zip.readUInt16LE(offset + 10);
    const crc = zip.readUInt32LE(offset + 16);
    const size = zip.readUInt32LE(offset + 24);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const localNameLength = zip.readUInt16LE(localOffset + 26);
    const localExtraLength = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const data = zip.subarray(start, start + compressedSize);
    const content = method === 8 ? inflateRawSync(data) : Buffer.from(data);
    if (content.length !== size || crc32(content) !== crc) throw new Error(`${name}: size or CRC-32 wrong`);
    files.set(name, content);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** The pass.json of a .pkpass. */
// biome-ignore lint/suspicious/noExplicitAny: tests read pass.json field by field.
export function passJsonOf(pkpass: Buffer): any {
  const passJson = unzip(pkpass).get('pass.json');
  if (!passJson) throw new Error('no pass.json in the pass');
  return JSON.parse(passJson.toString('utf8'));
}

/** GET a URL and keep the body as bytes (the test HTTP client reads text, which would corrupt a pass). */
export async function fetchBytes(
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const response = await fetch(url, init);
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

/**
 * Verifies a pass's detached signature over its manifest with openssl, as the brief of Wallet asks:
 * `openssl smime -verify -binary -inform DER -in signature -content manifest.json -CAfile ca -certfile wwdr`.
 */
export function verifyPassSignature(
  pkpass: Buffer,
  caPem: string,
  wwdrPem: string,
): { ok: boolean; output: string } {
  const files = unzip(pkpass);
  const dir = mkdtempSync(join(tmpdir(), 'pkpass-'));
  try {
    writeFileSync(join(dir, 'signature'), files.get('signature') ?? Buffer.alloc(0));
    writeFileSync(join(dir, 'manifest.json'), files.get('manifest.json') ?? Buffer.alloc(0));
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'wwdr.pem'), wwdrPem);
    const result = spawnSync(
      '/usr/bin/openssl',
      [
        'smime',
        '-verify',
        '-binary',
        '-inform',
        'DER',
        '-in',
        'signature',
        '-content',
        'manifest.json',
        '-CAfile',
        'ca.pem',
        '-certfile',
        'wwdr.pem',
        '-purpose',
        'any',
        '-out',
        '/dev/null',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Files whose SHA-1 differs from the manifest's, and files of either side missing from the other. */
export function manifestMismatches(pkpass: Buffer): string[] {
  const files = unzip(pkpass);
  const manifest = JSON.parse(files.get('manifest.json')?.toString('utf8') ?? '{}') as Record<string, string>;
  const problems: string[] = [];
  for (const [name, content] of files) {
    if (name === 'manifest.json' || name === 'signature') continue;
    const sha1 = createHash('sha1').update(content).digest('hex');
    if (manifest[name] !== sha1) problems.push(`${name}: ${manifest[name] ?? 'not in manifest'} != ${sha1}`);
  }
  for (const name of Object.keys(manifest)) if (!files.has(name)) problems.push(`${name}: missing`);
  return problems;
}
