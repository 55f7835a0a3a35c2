import { createPublicKey, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * What a finance export signs (docs/ledger-chain.md): the Merkle root over every card's chain head at
 * the cutoff, with the run it belongs to and the root of the export before it, so each month's signed
 * statement carries the last. The bytes signed are the canonical JSON of the statement (UTF-8);
 * the signature is ECDSA P-256 over their SHA-256 (KMS ECDSA_SHA_256), DER-encoded.
 */
export const SEAL_VERSION = 'giftcard-export-root/v1';
export const SEAL_ALGORITHM = 'ECDSA_SHA_256';

export interface PreviousRoot {
  readonly exportId: string;
  readonly cutoff: string;
  readonly root: string;
}

export interface SealStatement {
  readonly version: typeof SEAL_VERSION;
  readonly exportId: string;
  readonly region: string;
  readonly month: string;
  readonly cutoff: string;
  /** Cards with a row in the balances files (each one leaf). */
  readonly cards: number;
  readonly root: string;
  /** Every file of the export but the manifest, with the SHA-256 of its bytes as stored. */
  readonly files: readonly { readonly name: string; readonly sha256: string }[];
  /** The export at this period's start, when it exists: the chain of roots. */
  readonly previous: PreviousRoot | null;
}

export interface ExportSeal {
  readonly statement: SealStatement;
  readonly parts: readonly { readonly name: string; readonly cards: number; readonly root: string }[];
  readonly signature: {
    readonly algorithm: typeof SEAL_ALGORITHM;
    /** The KMS key id (ARN), or `local:<fingerprint>` under npm start. */
    readonly keyId: string;
    /** The public key, DER SubjectPublicKeyInfo, base64. */
    readonly publicKey: string;
    /** DER ECDSA signature, base64. */
    readonly value: string;
  };
}

export const statementBytes = (statement: SealStatement): Buffer =>
  Buffer.from(canonicalJson(statement), 'utf8');

/** True when the seal's signature is its public key's over its statement. */
export function sealSignatureValid(seal: Pick<ExportSeal, 'statement' | 'signature'>): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.from(seal.signature.publicKey, 'base64'),
      format: 'der',
      type: 'spki',
    });
    return verify('sha256', statementBytes(seal.statement), key, Buffer.from(seal.signature.value, 'base64'));
  } catch {
    return false;
  }
}
