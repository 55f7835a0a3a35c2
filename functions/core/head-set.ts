import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * An order-free digest of a set of card heads (card, entry number, hash, balance), so the verifier can
 * compare last month's export with this month's without holding either in memory (their rows come in
 * different orders). Each head is spread into a 2 KB vector (SHAKE128) and the vectors are summed lane
 * by lane, 1,024 lanes of 16 bits (LtHash, Bellare-Micciancio's additive hash with the lattice
 * parameters Facebook published): equal digests mean equal multisets. The heads go into 256 buckets by
 * their card id, so a mismatch narrows to the buckets where it is, and only those cards need a second
 * look to name the card. 512 KB whatever the number of cards.
 */
const LANES = 1024;
export const HEAD_SET_BUCKETS = 256;

export interface SetHead {
  readonly cardId: string;
  readonly seq: number;
  readonly hash?: string | undefined;
  readonly balance: number;
}

/** The bucket of a card: the first byte of its id's SHA-256. */
export const headBucket = (cardId: string): number =>
  createHash('sha256').update(cardId, 'utf8').digest()[0] ?? 0;

export class HeadSet {
  private readonly lanes = new Uint16Array(LANES * HEAD_SET_BUCKETS);
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(head: SetHead): void {
    const element = canonicalJson([head.cardId, head.seq, head.hash ?? null, head.balance]);
    const vector = createHash('shake128', { outputLength: LANES * 2 })
      .update(element, 'utf8')
      .digest();
    const base = headBucket(head.cardId) * LANES;
    for (let lane = 0; lane < LANES; lane++) {
      // Uint16Array wraps: the sum is modulo 2^16 per lane.
      this.lanes[base + lane] = (this.lanes[base + lane] ?? 0) + vector.readUInt16LE(lane * 2);
    }
    this.count += 1;
  }

  /** The buckets whose heads differ between the two sets. */
  differingBuckets(other: HeadSet): number[] {
    const buckets: number[] = [];
    for (let bucket = 0; bucket < HEAD_SET_BUCKETS; bucket++) {
      for (let lane = bucket * LANES; lane < (bucket + 1) * LANES; lane++) {
        if (this.lanes[lane] !== other.lanes[lane]) {
          buckets.push(bucket);
          break;
        }
      }
    }
    return buckets;
  }
}
