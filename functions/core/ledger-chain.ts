import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { LedgerEntry } from './ledger';

/**
 * The per-card hash chain (docs/ledger-chain.md). Each entry stores `prevHash`, the hash of the card's
 * previous entry (or the chain's genesis), and `hash` = SHA-256 over a domain tag and the canonical JSON
 * of everything the entry item holds except its keys and `hash` itself; the card item keeps the head
 * (`chainHash`, the hash of entry `seq`). Entries written before the chain existed carry neither: the
 * card's chain starts at its first entry written since, from a genesis naming the card and the number
 * of the entry before it (0 for a card issued with the chain).
 */
const ENTRY_TAG = 'giftcard-ledger-entry/v1\n';
const GENESIS_TAG = 'giftcard-ledger-genesis/v1\n';

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Where a card's chain starts: after entry `afterSeq` (0 for a new card, the last legacy entry's number otherwise). */
export const genesisHash = (cardId: string, afterSeq: number): string =>
  sha256Hex(GENESIS_TAG + canonicalJson({ cardId, seq: afterSeq }));

/** The hash of an entry as stored (its `prevHash` included, its own `hash` not). */
export function entryHash(entry: LedgerEntry): string {
  const { hash: _hash, ...content } = entry;
  return sha256Hex(ENTRY_TAG + canonicalJson(content));
}

/** The entry with its link: `previousHash` is the card's head before it (undefined on a legacy card). */
export function chainEntry(entry: LedgerEntry, previousHash: string | undefined): LedgerEntry {
  const { hash: _hash, prevHash: _prev, ...content } = entry;
  const linked = { ...content, prevHash: previousHash ?? genesisHash(entry.cardId, entry.seq - 1) };
  return { ...linked, hash: entryHash(linked) };
}

/** True when the entry carries a link and a hash that matches its content. */
export const isChained = (entry: LedgerEntry): boolean =>
  entry.hash !== undefined && entry.prevHash !== undefined && entryHash(entry) === entry.hash;
