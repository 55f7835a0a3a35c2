import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { type ApplePassJson, applePassJsonProblems } from '../core/apple-pass-json';
import type { AppleCertificates } from '../store/apple-certificates';
import { passImages } from './pass-images';
import { type CmsSigner, detachedSignature } from './pkcs7';
import { type ZipEntry, zip, zipEntry } from './zip';

/** A pass.json that Wallet would refuse; thrown before anything is signed. */
export class InvalidApplePassError extends Error {
  constructor(readonly fields: readonly string[]) {
    super(`Invalid Apple pass.json: ${fields.join(', ')}`);
    this.name = 'InvalidApplePassError';
  }
}

/** Certificates whose key does not belong to the signer certificate, or that do not parse. */
export class InvalidPassCertificatesError extends Error {
  constructor(reason: string) {
    super(`Apple pass certificates: ${reason}`);
    this.name = 'InvalidPassCertificatesError';
  }
}

/** The key and certificates parsed once per certificate set (the secret is re-read every 15 minutes). */
const signers = new WeakMap<AppleCertificates, CmsSigner>();

export function passSigner(certificates: AppleCertificates): CmsSigner {
  const known = signers.get(certificates);
  if (known) return known;
  let signer: CmsSigner;
  try {
    const certificate = new X509Certificate(certificates.signerCert);
    const key = createPrivateKey({
      key: certificates.signerKey,
      format: 'pem',
      ...(certificates.passphrase ? { passphrase: certificates.passphrase } : {}),
    });
    if (!certificate.checkPrivateKey(key)) throw new Error('the key is not the signer certificate’s');
    signer = { key, certificate: certificate.raw, chain: [new X509Certificate(certificates.wwdr).raw] };
  } catch (error) {
    // Never the PEMs or the passphrase: only what went wrong.
    throw new InvalidPassCertificatesError((error as Error).message.slice(0, 200));
  }
  signers.set(certificates, signer);
  return signer;
}

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');

/** The images are the same in every pass: hashed for the manifest and checksummed once per process. */
let images: { readonly digests: Record<string, string>; readonly entries: readonly ZipEntry[] } | undefined;

function imageFiles() {
  images ??= {
    digests: Object.fromEntries(Object.entries(passImages()).map(([name, bytes]) => [name, sha1(bytes)])),
    entries: Object.entries(passImages()).map(([name, bytes]) => zipEntry(name, bytes)),
  };
  return images;
}

/**
 * Signs and zips a pass: pass.json, the images, manifest.json (SHA-1 of every file) and `signature`, a
 * detached PKCS#7 (DER) over the manifest by the pass certificate, carrying the WWDR intermediate and a
 * signing time (functions/wallet/pkcs7.ts, node:crypto). The pass.json is checked first: Wallet refuses
 * a pass whose pass.json it cannot read, and says little about why.
 */
export function buildApplePass(
  pass: ApplePassJson,
  certificates: AppleCertificates,
  now = new Date(),
): Buffer {
  const invalid = applePassJsonProblems(pass);
  if (invalid.length > 0) throw new InvalidApplePassError(invalid);
  const passJson = Buffer.from(JSON.stringify(pass), 'utf8');
  const { digests, entries } = imageFiles();
  const manifest = Buffer.from(JSON.stringify({ 'pass.json': sha1(passJson), ...digests }), 'utf8');
  return zip(
    [
      zipEntry('pass.json', passJson),
      ...entries,
      zipEntry('manifest.json', manifest),
      zipEntry('signature', detachedSignature(manifest, passSigner(certificates), now)),
    ],
    now,
  );
}
