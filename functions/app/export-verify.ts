import type { ChainBreak } from '../core/chain-check';
import { CsvRowReader } from '../core/csv-read';
import { exportIdOf } from '../core/export-period';
import { type ExportSeal, sealSignatureValid } from '../core/export-seal';
import { HeadSet, headBucket } from '../core/head-set';
import type { LedgerEntry } from '../core/ledger';
import { headLeaf, MerkleRoot, rootOfParts } from '../core/merkle-root';
import { type ExportRun, findExportRun } from '../store/export-runs';
import { exportSigner } from '../store/export-signer';
import {
  cardLedger,
  exportGzipText,
  exportObject,
  exportObjectSha256,
  type KeyedEntry,
} from '../store/ledger-chain-reads';
import { cardReport, type LedgerVerdict, Tally, type VerifyOptions } from './ledger-verify';

/**
 * A finance export, verified in memory flat in its number of cards (docs/ledger-chain.md, section 4):
 * each file's SHA-256 against the signed list, each balances part's Merkle root from its rows (streamed
 * and unzipped as read, the root kept as O(log n) subtree hashes), the root and its signature; then
 * every card's chain in the table, which must hold the head the export signed as the card's head at the
 * cutoff (every card checked, each one's first break reported). Continuity with the export the statement names as previous: that statement's signature and
 * root, and the set of last month's heads against the heads the table gives this month's cards at last
 * month's cutoff (order-free digests, core/head-set.ts). A difference is then looked for card by card
 * in the differing buckets only, to name the card, its entry and the export.
 */

interface Manifest {
  readonly files: readonly { readonly name: string; readonly key: string; readonly sha256: string }[];
  readonly chain?: ExportSeal;
}

interface Export {
  readonly run: ExportRun;
  readonly manifest: Manifest;
  readonly seal: ExportSeal;
}

/** A balances row: the card's chain head at the export's cutoff. */
export interface SignedHead {
  readonly cardId: string;
  readonly currency: string;
  readonly balance: number;
  readonly seq: number;
  readonly hash?: string;
}

/** Problems listed at most (the first break is always named in `broken`). */
const PROBLEMS_LISTED = 100;
const PROGRESS_EVERY_CARDS = 1_000;

async function findExport(exportId: string): Promise<Export | undefined> {
  const run = await findExportRun(exportId);
  if (run?.status !== 'SUCCEEDED') return undefined;
  const manifest = JSON.parse(
    (await exportObject(`${run.keyPrefix}manifest.json`)).toString('utf8'),
  ) as Manifest;
  return manifest.chain ? { run, manifest, seal: manifest.chain } : undefined;
}

const headOf = (row: Record<string, string>): SignedHead => ({
  cardId: row.card_id ?? '',
  currency: row.currency ?? '',
  balance: Number(row.balance),
  seq: Number(row.chain_seq),
  ...(row.chain_hash ? { hash: row.chain_hash } : {}),
});

/** A balances part's heads in file order, one row held at a time (exported for the streaming test). */
export async function* headsOfPart(key: string): AsyncGenerator<SignedHead> {
  const reader = new CsvRowReader();
  for await (const chunk of exportGzipText(key)) for (const row of reader.push(chunk)) yield headOf(row);
  for (const row of reader.end()) yield headOf(row);
}

/** Every balances part's heads, in part order (the files the seal lists), with the part they are in. */
async function* headsOf(found: Export, tally: Tally): AsyncGenerator<SignedHead & { part: number }> {
  for (const [part, signed] of found.seal.parts.entries()) {
    const file = found.manifest.files.find((candidate) => candidate.name === signed.name);
    if (!file) {
      problem(tally, `export ${found.run.id} file ${signed.name}: missing from the manifest`);
      continue;
    }
    for await (const head of headsOfPart(file.key)) yield { ...head, part };
  }
}

function problem(tally: Tally, text: string): void {
  if (tally.problems.length < PROBLEMS_LISTED) tally.problems.push(text);
}

/** Each file's SHA-256 (streamed) against the signed list, and each list against the other. */
async function checkFiles({ run, manifest, seal }: Export, tally: Tally): Promise<void> {
  const signedFiles = new Map(seal.statement.files.map((file) => [file.name, file.sha256]));
  for (const file of manifest.files) {
    if (file.name === 'manifest.json') continue;
    const signed = signedFiles.get(file.name);
    if (signed === undefined) {
      problem(tally, `export ${run.id} file ${file.name}: not among the files the statement signs`);
    } else if ((await exportObjectSha256(file.key)) !== signed) {
      problem(
        tally,
        `export ${run.id} file ${file.name}: its SHA-256 is not the signed one (changed after the export)`,
      );
    }
  }
  for (const name of signedFiles.keys()) {
    if (!manifest.files.some((file) => file.name === name)) {
      problem(tally, `export ${run.id} file ${name}: signed, but missing from the manifest`);
    }
  }
}

/** The statement's root from the parts' roots, its signature, and the key: the region's export key. */
async function checkSeal({ run, seal }: Export, tally: Tally): Promise<void> {
  const root = rootOfParts(seal.parts.map((part) => part.root));
  if (root !== seal.statement.root) {
    problem(
      tally,
      `export ${run.id} root: the parts give ${root}, the signed statement says ${seal.statement.root}`,
    );
  }
  if (!sealSignatureValid(seal)) {
    problem(tally, `export ${run.id} signature: it does not verify over the statement`);
  }
  const ours = (await exportSigner().publicKey()).toString('base64');
  if (ours !== seal.signature.publicKey) {
    problem(
      tally,
      `export ${run.id} signature: made with a key (${seal.signature.keyId}) that is not the region's export key`,
    );
  }
}

/** Each part's Merkle root against the one signed: one running tree per part, rows as they stream. */
class PartRoots {
  private part = -1;
  private tree = new MerkleRoot();

  constructor(
    private readonly found: Export,
    private readonly tally: Tally,
  ) {}

  add(head: SignedHead & { part: number }): void {
    while (this.part < head.part) this.next();
    this.tree.add(headLeaf({ ...head, chainSeq: head.seq, chainHash: head.hash }));
  }

  finish(): void {
    while (this.part < this.found.seal.parts.length) this.next();
  }

  private next(): void {
    const signed = this.found.seal.parts[this.part];
    if (signed && (this.tree.root() !== signed.root || this.tree.leaves !== signed.cards)) {
      problem(
        this.tally,
        `export ${this.found.run.id} file ${signed.name}: its rows give root ${this.tree.root()} (${this.tree.leaves} rows), the manifest says ${signed.root} (${signed.cards})`,
      );
    }
    this.part += 1;
    this.tree = new MerkleRoot();
  }
}

/** The card's head at an instant: its last entry dated at or before it (entries are in date order). */
function headAt(entries: readonly KeyedEntry[], instant: string): LedgerEntry | undefined {
  let head: LedgerEntry | undefined;
  for (const { entry } of entries) {
    if (entry.createdAt > instant) break;
    head = entry;
  }
  return head;
}

/** Why the table does not hold `signed` as the card's head at `cutoff` (export `exportId`), if it does not. */
function signedHeadProblem(
  signed: SignedHead,
  entries: readonly KeyedEntry[],
  exportId: string,
  cutoff: string,
): ChainBreak | undefined {
  const head = headAt(entries, cutoff);
  if (head && head.seq === signed.seq && head.hash === signed.hash && head.balanceAfter === signed.balance) {
    return undefined;
  }
  const entry = entries[signed.seq - 1]?.entry;
  const held = entry ? `${entry.balanceAfter} ${entry.hash ?? '(no hash)'}` : 'no such entry';
  return {
    cardId: signed.cardId,
    seq: signed.seq,
    problem:
      `export ${exportId} signed entry ${signed.seq} (balance ${signed.balance}, hash ${signed.hash ?? '(none)'}) ` +
      `as the head at ${cutoff}; the table holds ${held}` +
      (head?.seq === signed.seq ? '' : ` and its head then is entry ${head?.seq ?? 0}`) +
      ` (entry ${signed.seq} or one before it was rewritten after that export)`,
  };
}

/** The previous export named by the statement (or the one that should have been): its seal and files. */
async function previousExport(found: Export, tally: Tally): Promise<Export | undefined> {
  const named = found.seal.statement.previous;
  if (!named) {
    const expected = await findExport(exportIdOf(found.run.region, found.run.periodStart));
    if (expected) {
      problem(
        tally,
        `continuity: export ${found.run.id} names no previous export, but ${expected.run.id} ended at its period's start`,
      );
    }
    return undefined;
  }
  const previous = await findExport(named.exportId);
  if (!previous) {
    problem(tally, `continuity: the previous export ${named.exportId} is missing or has no chain root`);
    return undefined;
  }
  const statement = previous.seal.statement;
  if (
    statement.root !== named.root ||
    statement.cutoff !== named.cutoff ||
    !sealSignatureValid(previous.seal)
  ) {
    problem(
      tally,
      `continuity: export ${named.exportId}'s signed root is not the ${named.root} (cutoff ${named.cutoff}) export ${found.run.id} names`,
    );
  }
  await checkFiles(previous, tally);
  await checkSeal(previous, tally);
  return previous;
}

/** The previous export's heads, checked against its signed part roots, as an order-free set. */
async function previousHeads(previous: Export, tally: Tally): Promise<HeadSet> {
  const set = new HeadSet();
  const roots = new PartRoots(previous, tally);
  for await (const head of headsOf(previous, tally)) {
    roots.add(head);
    set.add(head);
  }
  roots.finish();
  return set;
}

/**
 * The previous export's heads in the buckets where the sets differ, card by card: a card gone from
 * this export, or a head the table no longer holds (its history rewritten). Holds the card ids of those
 * buckets only (1/256 of the cards each), and runs only when something is wrong.
 */
async function nameContinuityBreaks(
  found: Export,
  previous: Export,
  buckets: ReadonlySet<number>,
  tally: Tally,
): Promise<void> {
  const current = new Set<string>();
  for await (const head of headsOf(found, tally)) {
    if (buckets.has(headBucket(head.cardId))) current.add(head.cardId);
  }
  let named = 0;
  for await (const head of headsOf(previous, tally)) {
    if (!buckets.has(headBucket(head.cardId))) continue;
    const { entries } = current.has(head.cardId) ? await cardLedger(head.cardId) : { entries: [] };
    const broken = current.has(head.cardId)
      ? signedHeadProblem(head, entries, previous.run.id, previous.seal.statement.cutoff)
      : {
          cardId: head.cardId,
          seq: head.seq,
          problem: `in export ${previous.run.id} (its head entry ${head.seq}), missing from export ${found.run.id}`,
        };
    if (!broken) continue;
    named += 1;
    tally.addBreak(broken);
    problem(tally, `continuity: card ${broken.cardId} entry ${broken.seq}: ${broken.problem}`);
  }
  if (named === 0) {
    problem(
      tally,
      `continuity: the heads of export ${previous.run.id} differ from export ${found.run.id}'s cards at its cutoff in ${buckets.size} bucket(s), no card found (a card listed twice?)`,
    );
  }
}

/** Every card of the export in the table: its chain whole, and its head at the cutoff the signed one. */
async function checkCards(
  found: Export,
  previousCutoff: string | undefined,
  tally: Tally,
  options: VerifyOptions,
): Promise<HeadSet> {
  const atPrevious = new HeadSet();
  const roots = new PartRoots(found, tally);
  const cutoff = found.seal.statement.cutoff;
  for await (const head of headsOf(found, tally)) {
    roots.add(head);
    const { card, entries } = await cardLedger(head.cardId);
    const report = cardReport(head.cardId, card, entries, options);
    tally.add(report);
    const signed = report.broken ? undefined : signedHeadProblem(head, entries, found.run.id, cutoff);
    if (signed) tally.addBreak(signed);
    const then = previousCutoff ? headAt(entries, previousCutoff) : undefined;
    if (then)
      atPrevious.add({ cardId: head.cardId, seq: then.seq, hash: then.hash, balance: then.balanceAfter });
    if (tally.cards % PROGRESS_EVERY_CARDS === 0) {
      options.onProgress?.({ phase: 'cards', done: tally.cards, total: found.seal.statement.cards });
    }
  }
  roots.finish();
  options.onProgress?.({ phase: 'cards', done: tally.cards, total: found.seal.statement.cards });
  return atPrevious;
}

/**
 * A whole export: file checksums, the seal, the previous export's seal, files and heads, then every
 * card, then continuity: last month's heads are the
 * heads the table gives this month's cards at last month's cutoff, no card missing.
 */
export async function verifyExport(exportId: string, options: VerifyOptions = {}): Promise<LedgerVerdict> {
  const tally = new Tally();
  const found = await findExport(exportId);
  if (!found) {
    tally.problems.push(`export ${exportId}: not found, not SUCCEEDED, or without a chain root`);
    return tally.verdict();
  }
  options.onProgress?.({ phase: 'files', done: 0, total: found.manifest.files.length });
  await checkFiles(found, tally);
  await checkSeal(found, tally);
  const previous = await previousExport(found, tally);
  const before = previous ? await previousHeads(previous, tally) : undefined;
  const atPrevious = await checkCards(found, previous?.seal.statement.cutoff, tally, options);
  if (previous && before) {
    options.onProgress?.({ phase: 'continuity', done: 0 });
    const buckets = before.differingBuckets(atPrevious);
    if (buckets.length > 0) await nameContinuityBreaks(found, previous, new Set(buckets), tally);
  }
  return tally.verdict();
}
