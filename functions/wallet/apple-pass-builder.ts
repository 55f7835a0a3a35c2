import { PKPass } from 'passkit-generator';
import { type ApplePassJson, applePassJsonSchema } from '../core/apple-pass';
import type { AppleCertificates } from '../store/apple-certificates';
import { passImages } from './pass-images';

/** A pass.json that Wallet would refuse; thrown before anything is signed. */
export class InvalidApplePassError extends Error {
  constructor(readonly fields: readonly string[]) {
    super(`Invalid Apple pass.json: ${fields.join(', ')}`);
    this.name = 'InvalidApplePassError';
  }
}

/**
 * Signs and zips a pass: pass.json, the images, manifest.json (SHA-1 of every file) and `signature`,
 * a detached PKCS#7 (DER) over the manifest by the pass certificate, carrying the WWDR intermediate and
 * a signing time (passkit-generator's Signature.create, node-forge).
 *
 * The pass.json is checked here first: passkit-generator drops an invalid pass.json with only a
 * console warning and then fails on something unrelated ("type is missing"), or worse builds a pass
 * Wallet will not open. We check again that it kept what we gave it.
 */
export function buildApplePass(pass: ApplePassJson, certificates: AppleCertificates): Buffer {
  const checked = applePassJsonSchema.safeParse(pass);
  if (!checked.success) {
    throw new InvalidApplePassError(checked.error.issues.map((issue) => issue.path.join('.') || '(root)'));
  }
  const pkpass = new PKPass(
    { ...passImages(), 'pass.json': Buffer.from(JSON.stringify(checked.data), 'utf8') },
    {
      wwdr: certificates.wwdr,
      signerCert: certificates.signerCert,
      signerKey: certificates.signerKey,
      ...(certificates.passphrase ? { signerKeyPassphrase: certificates.passphrase } : {}),
    },
  );
  if (pkpass.type !== 'storeCard' || pkpass.props.serialNumber !== checked.data.serialNumber) {
    throw new InvalidApplePassError(['pass.json (refused by passkit-generator)']);
  }
  return pkpass.getAsBuffer();
}
