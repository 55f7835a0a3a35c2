import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * RFC 6962 (Certificate Transparency) Merkle tree hash, computed as leaves stream in with memory of
 * one hash per bit of the count: MTH({}) = SHA-256(), a leaf is SHA-256(0x00 || data), a node
 * SHA-256(0x01 || left || right), the left subtree always the largest power of two below n.
 */
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export class MerkleRoot {
  /** Perfect subtrees, largest first: sizes are the bits of `count`. */
  private readonly stack: { size: number; hash: Buffer }[] = [];
  private count = 0;

  get leaves(): number {
    return this.count;
  }

  add(data: Uint8Array): this {
    let node = { size: 1, hash: sha256(LEAF, data) };
    for (let top = this.stack.at(-1); top && top.size === node.size; top = this.stack.at(-1)) {
      this.stack.pop();
      node = { size: top.size * 2, hash: sha256(NODE, top.hash, node.hash) };
    }
    this.stack.push(node);
    this.count += 1;
    return this;
  }

  /** The root, hex. */
  root(): string {
    const last = this.stack.at(-1);
    if (!last) return sha256().toString('hex');
    let hash = last.hash;
    for (let index = this.stack.length - 2; index >= 0; index--) {
      hash = sha256(NODE, (this.stack[index] as { hash: Buffer }).hash, hash);
    }
    return hash.toString('hex');
  }
}

/** A balances row as a leaf: canonical JSON [cardId, currency, balance, chain seq, chain hash or null]. */
export interface HeadRow {
  readonly cardId: string;
  readonly currency: string;
  readonly balance: number;
  readonly chainSeq: number;
  readonly chainHash?: string | undefined;
}

export const headLeaf = (row: HeadRow): Buffer =>
  Buffer.from(
    canonicalJson([row.cardId, row.currency, row.balance, row.chainSeq, row.chainHash ?? null]),
    'utf8',
  );

/** The export's root: the Merkle tree hash over its balances parts' roots (32 bytes each), in part order. */
export function rootOfParts(partRoots: readonly string[]): string {
  const tree = new MerkleRoot();
  for (const root of partRoots) tree.add(Buffer.from(root, 'hex'));
  return tree.root();
}
