import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type ApnsServerCertificate, generateApnsServerCertificate } from '../../local/apns-stand-in';
import { generateLocalAppleCertificates } from '../../local/apple-certificates';
import { generatePushCredentials } from '../../local/push-credentials';

/**
 * The local runtime's generated key material that no end-to-end test varies: the Apple pass certificate
 * chain (three RSA keys), the wallet push credentials (the APNs key and Google's service account) and the
 * APNs stand-in's TLS certificate. Made anew for every stack it took seconds of CPU per test file; now
 * the first stack of a run makes it, in the run's directory (test/support/global-setup.ts), and every
 * stack of the run copies it into its own data directory, where the local runtime reads it as it reads
 * `npm start`'s kept files. Each run still has keys of its own; test/local/stack.test.ts and the
 * integration tests still generate theirs.
 */
const FILES = {
  apple: 'apple-pass.json',
  push: 'wallet-push.json',
  apnsTls: 'apns-tls.json',
} as const;

function runDir(): string {
  const dir = process.env.TEST_RUN_DIR ?? inject('testRunDir');
  if (!dir) throw new Error('No run directory: run the tests through vitest (test/support/global-setup.ts).');
  return dir;
}

/**
 * Writes the file whole under a name of this process, then renames it into place: a second worker
 * reading it never sees half of it (two workers may both make one; the last rename wins, both valid).
 */
function writeOnce(file: string, content: unknown): void {
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, `${JSON.stringify(content)}\n`, { mode: 0o600 });
  renameSync(partial, file);
}

async function ensureRunKeyMaterial(dir: string): Promise<void> {
  const apple = join(dir, FILES.apple);
  if (!existsSync(apple)) writeOnce(apple, generateLocalAppleCertificates());
  const push = join(dir, FILES.push);
  if (!existsSync(push)) writeOnce(push, await generatePushCredentials());
  const apnsTls = join(dir, FILES.apnsTls);
  if (!existsSync(apnsTls)) writeOnce(apnsTls, generateApnsServerCertificate());
}

/**
 * Puts the run's Apple certificates and push credentials into a new stack's data directory and returns
 * the APNs stand-in's TLS certificate (a LocalStackOptions `apnsTls`).
 */
export async function provideRunKeyMaterial(dataDir: string): Promise<ApnsServerCertificate> {
  const dir = runDir();
  await ensureRunKeyMaterial(dir);
  copyFileSync(join(dir, FILES.apple), join(dataDir, FILES.apple));
  copyFileSync(join(dir, FILES.push), join(dataDir, FILES.push));
  return JSON.parse(readFileSync(join(dir, FILES.apnsTls), 'utf8')) as ApnsServerCertificate;
}
