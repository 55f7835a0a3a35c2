/**
 * The few DER (ASN.1) pieces a detached PKCS#7 signature needs: an encoder for SEQUENCE, SET OF, OID,
 * INTEGER, NULL, OCTET STRING, UTCTime and context tags, and a reader that finds the elements of a
 * certificate (issuer, serial number) by walking its tag-length-value structure. No other ASN.1 is
 * parsed here: certificates and keys are read by node:crypto.
 */

/** A DER element: tag byte, definite length, content. */
export function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));

/** DER orders a SET OF by the elements' encodings (X.690 11.6). */
export function setOf(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));
}

/** `[n]` IMPLICIT, constructed: the content of `element` (a SET or SEQUENCE) under a context tag. */
export function implicitTag(n: number, element: Buffer): Buffer {
  const { contentStart, end } = readElement(element, 0);
  return tlv(0xa0 | n, element.subarray(contentStart, end));
}

/** `[n]` EXPLICIT: `element` wrapped whole in a context tag. */
export const explicitTag = (n: number, element: Buffer): Buffer => tlv(0xa0 | n, element);

export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      base128.unshift((value & 0x7f) | 0x80);
    }
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

export const integer = (value: number): Buffer => tlv(0x02, Buffer.from([value]));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);

/** UTCTime (YYMMDDHHMMSSZ), which CMS uses for signing times before 2050. */
export function utcTime(at: Date): Buffer {
  const two = (n: number) => String(n).padStart(2, '0');
  const text = `${two(at.getUTCFullYear() % 100)}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(
    at.getUTCHours(),
  )}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

export interface Element {
  readonly tag: number;
  /** Where the element (its tag byte) starts. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** The element at `offset`; throws on anything that is not definite-length DER inside the buffer. */
export function readElement(der: Buffer, offset: number): Element {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('DER: truncated element');
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[offset + 2 + i] ?? 0);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error('DER: element runs past the end');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element. */
export function children(der: Buffer, parent: Element): Element[] {
  const found: Element[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readElement(der, offset);
    found.push(child);
    offset = child.end;
  }
  return found;
}

/**
 * The issuer Name and serialNumber INTEGER of an X.509 certificate (DER), as encoded in it: together
 * they name the signer in a SignerInfo (IssuerAndSerialNumber).
 */
export function issuerAndSerial(certificate: Buffer): { issuer: Buffer; serial: Buffer } {
  const cert = readElement(certificate, 0);
  const [tbs] = children(certificate, cert);
  if (!tbs) throw new Error('DER: not a certificate');
  const fields = children(certificate, tbs);
  // tbsCertificate: [0] version (optional), serialNumber, signature, issuer, ...
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[at];
  const issuer = fields[at + 2];
  if (serial?.tag !== 0x02 || issuer?.tag !== 0x30) throw new Error('DER: not a certificate');
  return {
    issuer: certificate.subarray(issuer.start, issuer.end),
    serial: certificate.subarray(serial.start, serial.end),
  };
}
