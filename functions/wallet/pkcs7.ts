import { createHash, type KeyObject, sign } from 'node:crypto';
import {
  explicitTag,
  implicitTag,
  integer,
  issuerAndSerial,
  nullValue,
  objectIdentifier,
  octetString,
  sequence,
  setOf,
  utcTime,
} from './der';

/**
 * A detached PKCS#7 (CMS) SignedData over `content`, as Wallet requires of a pass's `signature` file:
 * SHA-256 digest, signed attributes (content type, signing time, message digest), the signer's and the
 * WWDR intermediate's certificates, no content. The signature itself is node:crypto's (OpenSSL), RSA
 * PKCS#1 v1.5 or ECDSA; the structure around it is a few hundred bytes of DER written here.
 *
 * Verify: `openssl smime -verify -binary -inform DER -in signature -content manifest.json -CAfile ca.pem
 * -certfile wwdr.pem -purpose any`.
 */
const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
} as const;

export interface CmsSigner {
  readonly key: KeyObject;
  /** DER of the signer certificate. */
  readonly certificate: Buffer;
  /** DER of the certificates carried besides the signer's (the WWDR intermediate). */
  readonly chain: readonly Buffer[];
}

const attribute = (type: string, value: Buffer) => sequence(objectIdentifier(type), setOf(value));

export function detachedSignature(content: Buffer, signer: CmsSigner, signingTime: Date): Buffer {
  const sha256 = sequence(objectIdentifier(OID.sha256), nullValue());
  const signedAttributes = setOf(
    attribute(OID.contentType, objectIdentifier(OID.data)),
    attribute(OID.signingTime, utcTime(signingTime)),
    attribute(OID.messageDigest, octetString(createHash('sha256').update(content).digest())),
  );
  // The signature covers the attributes' DER as a SET (RFC 5652 5.4); they travel as [0] IMPLICIT.
  const isRsa = signer.key.asymmetricKeyType === 'rsa';
  const signature = sign('sha256', signedAttributes, signer.key);
  const signatureAlgorithm = isRsa
    ? sequence(objectIdentifier(OID.rsaEncryption), nullValue())
    : sequence(objectIdentifier(OID.ecdsaWithSha256));
  const { issuer, serial } = issuerAndSerial(signer.certificate);
  const signerInfo = sequence(
    integer(1),
    sequence(issuer, serial),
    sha256,
    implicitTag(0, signedAttributes),
    signatureAlgorithm,
    octetString(signature),
  );
  const signedData = sequence(
    integer(1),
    setOf(sha256),
    sequence(objectIdentifier(OID.data)),
    implicitTag(0, setOf(...signer.chain, signer.certificate)),
    setOf(signerInfo),
  );
  return sequence(objectIdentifier(OID.signedData), explicitTag(0, signedData));
}
