import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { config } from '../config';
import { traced } from '../observability/tracer';

/**
 * Signs an export's chain statement with ECDSA P-256 over SHA-256 (DER signatures): the region's KMS
 * key in AWS (kms:Sign and kms:GetPublicKey only, lib/exports-stack.ts), the local stack's key file under
 * npm start. Both answer the same shape, so the export and its verifier never tell them apart.
 */
export interface ExportSigner {
  readonly keyId: string;
  /** DER SubjectPublicKeyInfo. */
  publicKey(): Promise<Buffer>;
  /** DER ECDSA signature over SHA-256(message). */
  sign(message: Buffer): Promise<Buffer>;
}

export class KmsExportSigner implements ExportSigner {
  private key: Promise<Buffer> | undefined;

  constructor(
    readonly keyId: string,
    private readonly kms: KMSClient,
  ) {}

  publicKey(): Promise<Buffer> {
    this.key ??= this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId })).then((out) => {
      if (!out.PublicKey || out.KeySpec !== 'ECC_NIST_P256') {
        throw new Error(`KMS key ${this.keyId} is not an ECC_NIST_P256 signing key`);
      }
      return Buffer.from(out.PublicKey);
    });
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  async sign(message: Buffer): Promise<Buffer> {
    const out = await this.kms.send(
      new SignCommand({
        KeyId: this.keyId,
        // The digest, not the message: KMS takes at most 4 KB of message, and the digest is what it signs.
        Message: createHash('sha256').update(message).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    if (!out.Signature) throw new Error(`KMS returned no signature for ${this.keyId}`);
    return Buffer.from(out.Signature);
  }
}

/** The local stand-in: a P-256 key generated once into the local stack's data directory. */
export class LocalExportSigner implements ExportSigner {
  readonly keyId: string;
  private readonly privateKey: ReturnType<typeof createPrivateKey>;
  private readonly spki: Buffer;

  constructor(privateKeyPem: string) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.spki = createPublicKey(this.privateKey).export({ type: 'spki', format: 'der' });
    this.keyId = `local:${createHash('sha256').update(this.spki).digest('hex').slice(0, 16)}`;
  }

  async publicKey(): Promise<Buffer> {
    return this.spki;
  }

  async sign(message: Buffer): Promise<Buffer> {
    return sign('sha256', message, { key: this.privateKey, dsaEncoding: 'der' });
  }
}

let signer: ExportSigner | undefined;

/** The configured signer (module singleton): KMS when EXPORT_SIGNING_KEY_ID is set, else the local key. */
export function exportSigner(): ExportSigner {
  if (signer) return signer;
  const { EXPORT_SIGNING_KEY_ID, EXPORT_SIGNING_KEY_PEM, AWS_REGION } = config();
  if (EXPORT_SIGNING_KEY_ID) {
    signer = new KmsExportSigner(
      EXPORT_SIGNING_KEY_ID,
      traced(new KMSClient({ region: AWS_REGION, maxAttempts: 4 })),
    );
  } else if (EXPORT_SIGNING_KEY_PEM) {
    signer = new LocalExportSigner(EXPORT_SIGNING_KEY_PEM);
  } else {
    throw new Error(
      'No export signing key: set EXPORT_SIGNING_KEY_ID (KMS) or EXPORT_SIGNING_KEY_PEM (local)',
    );
  }
  return signer;
}

export function resetExportSignerForTests(): void {
  signer = undefined;
}
