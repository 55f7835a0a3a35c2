import { hash } from 'node:crypto';

/**
 * The references seen so far in a bulk file, to find a duplicate however far apart the two rows are,
 * in memory fixed up front: an open-addressing table of the first 64 bits of each reference's SHA-256,
 * with the line it was seen on. Capacity is the next power of two at or above twice `maxEntries` (load
 * at most 1/2), 12 bytes a slot: 3 MB for 100,000 references (2^18 slots) whatever their length, where
 * a Set of the strings would hold up to 100 characters each plus per-entry overhead, and grow.
 *
 * A real duplicate is always found (equal references hash equally). Two different references share 64
 * bits with probability about n^2 / 2^65 (3e-10 at 100,000): such a pair would be reported as a duplicate
 * and the file refused, never accepted wrongly.
 */
export class ReferenceSet {
  private readonly high: Uint32Array;
  private readonly low: Uint32Array;
  /** 0 = empty slot; lines start at 1. */
  private readonly lines: Uint32Array;
  private readonly mask: number;
  private count = 0;

  constructor(private readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1 || maxEntries > 2 ** 24) {
      throw new Error('ReferenceSet holds 1 to 2^24 entries');
    }
    let capacity = 2;
    while (capacity < maxEntries * 2) capacity *= 2;
    this.high = new Uint32Array(capacity);
    this.low = new Uint32Array(capacity);
    this.lines = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The table's bytes: fixed at construction. */
  get bytes(): number {
    return this.high.byteLength + this.low.byteLength + this.lines.byteLength;
  }

  /** Records `reference` seen on `line`; returns the line of an earlier equal one instead, if any. */
  add(reference: string, line: number): number | undefined {
    if (!Number.isSafeInteger(line) || line < 1 || line > 0xffffffff) throw new Error('line out of range');
    const digest = hash('sha256', reference, 'buffer');
    const high = digest.readUInt32BE(0);
    const low = digest.readUInt32BE(4);
    // Bounded probe: the load stays at most 1/2, so an empty slot is always found within the table.
    for (let probe = 0, slot = low & this.mask; probe <= this.mask; probe++, slot = (slot + 1) & this.mask) {
      const seen = this.lines[slot] ?? 0;
      if (seen === 0) {
        if (this.count >= this.maxEntries) throw new Error(`ReferenceSet is full (${this.maxEntries})`);
        this.high[slot] = high;
        this.low[slot] = low;
        this.lines[slot] = line;
        this.count++;
        return undefined;
      }
      if (this.high[slot] === high && this.low[slot] === low) return seen;
    }
    throw new Error('ReferenceSet: no empty slot (load invariant broken)');
  }
}
