import { createHash } from 'node:crypto';
import {
  type CardChainReport,
  type ChainBreak,
  type ChainCheckOptions,
  checkCardChain,
} from '../core/chain-check';
import { readCsv } from '../core/csv-read';
import { type ExportSeal, sealSignatureValid } from '../core/export-seal';
import { headLeaf, MerkleRoot, rootOfParts } from '../core/merkle-root';
import { findExportRun } from '../store/export-runs';
import { exportSigner } from '../store/export-signer';
import { cardLedger, exportObject, gunzipText, programCardIds } from '../store/ledger-chain-reads';

/**
 * The ledger verifier (docs/ledger-chain.md): a card, a program's cards, or a finance export, checked
 * against the hash chain. Reports the first break exactly (card, entry, what differs) and legacy spans
 * (entries from before the chain) as such. Progress goes to `onProgress`.
 */
export interface VerifyProgress {
  readonly phase: string;
  readonly done: number;
  readonly total?: number;
}

export interface VerifyOptions extends ChainCheckOptions {
  readonly onProgress?: (progress: VerifyProgress) => void;
}

export interface LedgerVerdict {
  readonly ok: boolean;
  readonly cards: number;
  readonly entries: number;
  /** Cards with entries from before the chain: their ids and spans (at most 100 listed). */
  readonly legacyCards: number;
  readonly legacy: readonly { readonly cardId: string; readonly from: number; readonly to: number }[];
  readonly broken?: ChainBreak;
  /** For an export: what about the files, root, signature or continuity failed, in order found. */
  readonly problems: readonly string[];
}

const LEGACY_LISTED = 100;
const MAX_PROGRAM_PAGES = 100_000;

class Tally {
  cards = 0;
  entries = 0;
  legacyCards = 0;
  readonly legacy: { cardId: string; from: number; to: number }[] = [];
  broken: ChainBreak | undefined;
  readonly problems: string[] = [];

  add(report: CardChainReport): void {
    this.cards += 1;
    this.entries += report.entries;
    if (report.legacy) {
      this.legacyCards += 1;
      if (this.legacy.length < LEGACY_LISTED) this.legacy.push({ cardId: report.cardId, ...report.legacy });
    }
    if (report.broken && !this.broken) this.broken = report.broken;
  }

  verdict(): LedgerVerdict {
    const ok = !this.broken && this.problems.length === 0;
    return {
      ok,
      cards: this.cards,
      entries: this.entries,
      legacyCards: this.legacyCards,
      legacy: this.legacy,
      ...(this.broken ? { broken: this.broken } : {}),
      problems: this.problems,
    };
  }
}

/** One card: its entries in key order, their hashes and links, and the card item's head. */
export async function verifyCard(cardId: string, options: VerifyOptions = {}): Promise<CardChainReport> {
  const { card, entries } = await cardLedger(cardId);
  if (!card && entries.length === 0) {
    return { cardId, entries: 0, head: { seq: 0 }, broken: { cardId, seq: 0, problem: 'no such card' } };
  }
  const report = checkCardChain(cardId, entries, card, options);
  if (!card && !report.broken) {
    return {
      ...report,
      broken: { cardId, seq: report.entries, problem: 'the card item is missing (deleted)' },
    };
  }
  return report;
}

/** Every card of a program (through its keys-only index), stopping at the first break. */
export async function verifyProgram(programId: string, options: VerifyOptions = {}): Promise<LedgerVerdict> {
  const tally = new Tally();
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PROGRAM_PAGES; page++) {
    const { cardIds, next } = await programCardIds(programId, start);
    for (const cardId of cardIds) {
      tally.add(await verifyCard(cardId, options));
      if (tally.broken) return tally.verdict();
    }
    options.onProgress?.({ phase: 'cards', done: tally.cards });
    start = next;
    if (!start) break;
  }
  return tally.verdict();
}

interface Manifest {
  readonly files: readonly { readonly name: string; readonly key: string; readonly sha256: string }[];
  readonly chain?: ExportSeal;
}

interface Head {
  readonly cardId: string;
  readonly currency: string;
  readonly balance: number;
  readonly seq: number;
  readonly hash?: string;
}

async function readManifest(
  exportId: string,
): Promise<{ manifest: Manifest; keyPrefix: string } | undefined> {
  const run = await findExportRun(exportId);
  if (run?.status !== 'SUCCEEDED') return undefined;
  const manifest = JSON.parse(
    (await exportObject(`${run.keyPrefix}manifest.json`)).toString('utf8'),
  ) as Manifest;
  return { manifest, keyPrefix: run.keyPrefix };
}

/** The files' SHA-256 against the manifest, then the heads of each balances part, in part order. */
async function headsOf(manifest: Manifest, seal: ExportSeal, tally: Tally): Promise<Head[][]> {
  const parts: Head[][] = [];
  for (const file of manifest.files) {
    const signed = seal.statement.files.find((candidate) => candidate.name === file.name);
    if (!signed && file.name !== 'manifest.json') {
      tally.problems.push(`file ${file.name}: not among the files the statement signs`);
    }
    const bytes = await exportObject(file.key);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (signed && sha256 !== signed.sha256) {
      tally.problems.push(`file ${file.name}: its SHA-256 is not the signed one (changed after the export)`);
    }
  }
  for (const signed of seal.statement.files) {
    if (!manifest.files.some((file) => file.name === signed.name)) {
      tally.problems.push(`file ${signed.name}: signed, but missing from the manifest`);
    }
  }
  for (const part of seal.parts) {
    const file = manifest.files.find((candidate) => candidate.name === part.name);
    if (!file) {
      tally.problems.push(`file ${part.name}: missing from the manifest`);
      parts.push([]);
      continue;
    }
    const rows = readCsv(gunzipText(await exportObject(file.key)));
    const heads = rows.map((row) => ({
      cardId: row.card_id ?? '',
      currency: row.currency ?? '',
      balance: Number(row.balance),
      seq: Number(row.chain_seq),
      ...(row.chain_hash ? { hash: row.chain_hash } : {}),
    }));
    const tree = new MerkleRoot();
    for (const head of heads) {
      tree.add(headLeaf({ ...head, chainSeq: head.seq, chainHash: head.hash }));
    }
    if (tree.root() !== part.root || tree.leaves !== part.cards) {
      tally.problems.push(
        `file ${part.name}: its rows give root ${tree.root()}, the manifest says ${part.root}`,
      );
    }
    parts.push(heads);
  }
  return parts;
}

/** The statement's root and signature, and the key: the region's own signing key. */
async function checkSeal(seal: ExportSeal, tally: Tally): Promise<void> {
  const root = rootOfParts(seal.parts.map((part) => part.root));
  if (root !== seal.statement.root) {
    tally.problems.push(`root: the parts give ${root}, the signed statement says ${seal.statement.root}`);
  }
  if (!sealSignatureValid(seal)) tally.problems.push('signature: it does not verify over the statement');
  const ours = (await exportSigner().publicKey()).toString('base64');
  if (ours !== seal.signature.publicKey) {
    tally.problems.push(
      `signature: made with a key (${seal.signature.keyId}) that is not the region's export key`,
    );
  }
}

/** The previous export named by the statement: its signed root, and every card's head moving only forward. */
async function checkContinuity(
  seal: ExportSeal,
  heads: readonly Head[],
  tally: Tally,
): Promise<Map<string, Head>> {
  const before = new Map<string, Head>();
  const previous = seal.statement.previous;
  if (!previous) return before;
  const found = await readManifest(previous.exportId);
  const previousSeal = found?.manifest.chain;
  if (!found || !previousSeal) {
    tally.problems.push(
      `continuity: the previous export ${previous.exportId} is missing or has no chain root`,
    );
    return before;
  }
  if (previousSeal.statement.root !== previous.root || !sealSignatureValid(previousSeal)) {
    tally.problems.push(`continuity: export ${previous.exportId}'s signed root is not ${previous.root}`);
  }
  for (const head of (await headsOf(found.manifest, previousSeal, tally)).flat())
    before.set(head.cardId, head);
  const now = new Map(heads.map((head) => [head.cardId, head]));
  for (const old of before.values()) {
    const head = now.get(old.cardId);
    if (!head)
      tally.problems.push(`continuity: card ${old.cardId} was in export ${previous.exportId} and is gone`);
    else if (head.seq < old.seq || (head.seq === old.seq && head.hash !== old.hash)) {
      tally.problems.push(
        `continuity: card ${old.cardId} went from #${old.seq} ${old.hash ?? ''} to #${head.seq} ${head.hash ?? ''}`,
      );
    }
  }
  return before;
}

/**
 * A whole export: file checksums, each part's Merkle root from its rows, the root, the signature and
 * its key, continuity with the previous export, then every card's chain in the table, which must
 * still hold the head the export signed (and the previous export's head, entry for entry).
 */
export async function verifyExport(exportId: string, options: VerifyOptions = {}): Promise<LedgerVerdict> {
  const tally = new Tally();
  const found = await readManifest(exportId);
  const seal = found?.manifest.chain;
  if (!found || !seal) {
    tally.problems.push(`export ${exportId}: not found, not SUCCEEDED, or without a chain root`);
    return tally.verdict();
  }
  options.onProgress?.({ phase: 'files', done: 0, total: found.manifest.files.length });
  const heads = (await headsOf(found.manifest, seal, tally)).flat();
  await checkSeal(seal, tally);
  const before = await checkContinuity(seal, heads, tally);
  for (const head of heads) {
    const { card, entries } = await cardLedger(head.cardId);
    tally.add(checkCardChain(head.cardId, entries, card, options));
    for (const signed of [head, before.get(head.cardId)]) {
      const entry = signed ? entries[signed.seq - 1]?.entry : undefined;
      if (!signed || (entry && entry.hash === signed.hash && entry.balanceAfter === signed.balance)) continue;
      tally.broken ??= {
        cardId: head.cardId,
        seq: signed.seq,
        problem: `it holds ${entry?.balanceAfter} ${entry?.hash ?? '(no hash)'}; a signed export holds ${signed.balance} ${signed.hash ?? '(no hash)'}`,
      };
    }
    if (tally.broken) break;
    if (tally.cards % 100 === 0)
      options.onProgress?.({ phase: 'cards', done: tally.cards, total: heads.length });
  }
  options.onProgress?.({ phase: 'cards', done: tally.cards, total: heads.length });
  return tally.verdict();
}
