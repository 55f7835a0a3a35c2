import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import forge from 'node-forge';
import { type AppleCertificates, parseAppleCertificates } from '../functions/store/apple-certificates';
import { LocalRuntimeError } from './errors';

/**
 * A stand-in for Apple's certificate chain, so passes build and verify with no Apple account: a local
 * root CA, a "WWDR-like" intermediate it signs, and a Pass Type ID signer certificate the intermediate
 * signs. `npm start` keeps one under .local/ (git-ignored); tests make their own. Devices will not trust
 * these passes (only Apple's WWDR chain does); `openssl smime -verify` against `ca` does.
 */
export interface LocalAppleCertificates {
  readonly certificates: AppleCertificates;
  /** The root CA's certificate (PEM), to verify signatures against. */
  readonly ca: string;
}

const LOCAL_PASS_TYPE = 'pass.local.giftcard';
const LOCAL_TEAM = 'LOCALTEAM1';

function rsaKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
  };
}

function certificate(options: {
  subject: string;
  keys: ReturnType<typeof rsaKeys>;
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  ca: boolean;
  extraSubject?: forge.pki.CertificateField[];
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.keys.publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  const subject = [{ name: 'commonName', value: options.subject }, ...(options.extraSubject ?? [])];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: options.ca, critical: true },
    options.ca
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(options.issuer?.key ?? options.keys.privateKey, forge.md.sha256.create());
  return cert;
}

export function generateLocalAppleCertificates(
  ids: { passTypeIdentifier?: string; teamIdentifier?: string } = {},
): LocalAppleCertificates {
  const passTypeIdentifier = ids.passTypeIdentifier ?? LOCAL_PASS_TYPE;
  const teamIdentifier = ids.teamIdentifier ?? LOCAL_TEAM;
  const rootKeys = rsaKeys();
  const root = certificate({ subject: 'Local Test Root CA (not Apple)', keys: rootKeys, ca: true });
  const wwdrKeys = rsaKeys();
  const wwdr = certificate({
    subject: 'Local WWDR-like Intermediate (not Apple)',
    keys: wwdrKeys,
    issuer: { cert: root, key: rootKeys.privateKey },
    ca: true,
  });
  const signerKeys = rsaKeys();
  const signer = certificate({
    subject: `Pass Type ID: ${passTypeIdentifier}`,
    keys: signerKeys,
    issuer: { cert: wwdr, key: wwdrKeys.privateKey },
    ca: false,
    extraSubject: [
      { type: '0.9.2342.19200300.100.1.1', value: passTypeIdentifier },
      { name: 'organizationalUnitName', value: teamIdentifier },
    ],
  });
  return {
    ca: forge.pki.certificateToPem(root),
    certificates: {
      signerCert: forge.pki.certificateToPem(signer),
      signerKey: forge.pki.privateKeyToPem(signerKeys.privateKey),
      wwdr: forge.pki.certificateToPem(wwdr),
      passTypeIdentifier,
      teamIdentifier,
    },
  };
}

/** Reads `.local/apple-pass.json`, generating it on first use (kept: installed passes stay valid). */
export function loadOrCreateLocalAppleCertificates(file: string): LocalAppleCertificates {
  if (existsSync(file)) {
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { ca?: unknown; certificates?: unknown };
      if (typeof stored.ca !== 'string') throw new Error('no ca');
      return { ca: stored.ca, certificates: parseAppleCertificates(JSON.stringify(stored.certificates)) };
    } catch {
      throw new LocalRuntimeError(
        `${file} is not a valid Apple pass certificate file; delete it to make a new one.`,
      );
    }
  }
  const generated = generateLocalAppleCertificates();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600 });
  return generated;
}
