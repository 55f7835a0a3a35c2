import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { sealingPepper } from './secrets';

/**
 * Values kept in the table that must not sit there in clear: an e-gift card's code (the claim page shows
 * it to the recipient; the card item keeps only its HMAC) and a bulk chunk's results (codes or claim
 * links, until the result file is written). AES-256-GCM under a key derived from the sealing pepper for
 * one purpose; the item's key is the additional data, so a sealed value cannot be moved to another item.
 */
export type SealPurpose = 'delivery-code-v1' | 'bulk-chunk-v1';

const keys = new Map<string, Buffer>();

async function keyFor(purpose: SealPurpose): Promise<Buffer> {
  const pepper = await sealingPepper();
  const cacheKey = `${purpose}|${pepper}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', pepper, 'giftcard', purpose, 32));
    keys.clear();
    keys.set(cacheKey, key);
  }
  return key;
}

export async function sealValue(purpose: SealPurpose, value: unknown, aad: string): Promise<Uint8Array> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await keyFor(purpose), iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(deflateRawSync(JSON.stringify(value))), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export async function openValue<T>(purpose: SealPurpose, sealed: Uint8Array, aad: string): Promise<T> {
  const raw = Buffer.from(sealed);
  const decipher = createDecipheriv('aes-256-gcm', await keyFor(purpose), raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  return JSON.parse(inflateRawSync(plain).toString('utf8')) as T;
}

export function resetSealedValuesForTests(): void {
  keys.clear();
}
