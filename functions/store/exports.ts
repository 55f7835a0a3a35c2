import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config';
import { csvRow } from '../core/csv';
import {
  BALANCE_COLUMNS,
  balanceCells,
  CardFold,
  checkLiabilityEquation,
  JOURNAL_COLUMNS,
  journalCells,
  LedgerCheckFailed,
  SUMMARY_COLUMNS,
  Summary,
  summaryCells,
  totalsByCurrency,
} from '../core/export-ledger';
import { EXPORT_SETTLE_MARGIN_MS, lastMonthBoundary, periodEndingAt } from '../core/export-period';
import type { ExportSeal } from '../core/export-seal';
import type { LedgerEntry } from '../core/ledger';
import { headLeaf, MerkleRoot } from '../core/merkle-root';
import { db, tableName } from './dynamo-client';
import { CsvObjectWriter, type ExportFile, putJson } from './export-files';
import {
  type ExportRun,
  findExportRun,
  findSegment,
  markFailed,
  markRunning,
  markSucceeded,
  noteSegmentProgress,
  openExportRun,
  type SegmentResult,
  saveSegment,
  segmentsOf,
} from './export-runs';
import { sealExport } from './export-sealing';
import { withoutLayout } from './keys';

/**
 * Finance exports in three steps, each small enough for one Lambda invocation at any table size:
 * plan (fix the number of scan segments, say when reading may start), N segments in parallel (each
 * streams its part of the table into its part files), finalize (merge the segments' summaries, check
 * the liability equation, write the summary and the manifest). Step Functions runs them in AWS
 * (lib/exports-stack.ts); functions/exports/runner.ts runs the same handlers in-process locally.
 */

/**
 * A segment scans about this many items: seconds of a 15-minute Lambda at DynamoDB's scan speed, so a
 * retried segment re-reads little, and 1,000,000 cards (~4.3 M items) fan out to 44 segments.
 */
const ITEMS_PER_SEGMENT = 100_000;
const MAX_SEGMENTS = 64;
/**
 * Items evaluated per Scan call (before the filter). About 1 MB of ledger entries, so in AWS a page costs
 * what the 1 MB cap would; it bounds what one call holds in memory whatever the items' size. DynamoDB
 * Local needs it: a Scan without Limit parses every remaining item of the segment on each page.
 */
const SCAN_PAGE_ITEMS = 2_000;
/** Write progress on the segment item every this many pages of the scan. */
const PROGRESS_EVERY_PAGES = 20;

export interface PlanInput {
  readonly exportId?: string;
  /** Set by the monthly schedule (<aws.scheduler.scheduled-time>): the export of the month just ended. */
  readonly scheduledTime?: string;
}

export interface PlanOutput {
  readonly exportId: string;
  /** The run already succeeded: nothing to do. */
  readonly done: boolean;
  readonly notBefore: string;
  readonly totalSegments: number;
  readonly segments: readonly number[];
}

const SCHEDULE_ACTOR = { type: 'system', id: 'finance-export-schedule' } as const;

async function segmentsForTable(): Promise<number> {
  const fixed = config().EXPORT_SEGMENTS;
  if (fixed) return fixed;
  const out = await db().send(new DescribeTableCommand({ TableName: tableName() }));
  const items = out.Table?.ItemCount ?? 0;
  return Math.min(MAX_SEGMENTS, Math.max(1, Math.ceil(items / ITEMS_PER_SEGMENT)));
}

export async function planExport(input: PlanInput, now = new Date()): Promise<PlanOutput> {
  let exportId = input.exportId;
  if (!exportId) {
    if (!input.scheduledTime) throw new Error('plan needs exportId or scheduledTime');
    const zone = config().REPORTING_TIME_ZONE;
    const period = periodEndingAt(lastMonthBoundary(new Date(input.scheduledTime), zone), zone);
    exportId = (await openExportRun(period, config().AWS_REGION, SCHEDULE_ACTOR, now)).run.id;
  }
  const existing = await findExportRun(exportId);
  if (!existing) throw new Error(`No export run ${exportId}`);
  if (existing.status === 'SUCCEEDED') {
    return { exportId, done: true, notBefore: existing.notBefore, totalSegments: 0, segments: [] };
  }
  const run = await markRunning(exportId, existing.segments ?? (await segmentsForTable()), now);
  const total = run.segments ?? 1;
  return {
    exportId,
    done: false,
    notBefore: run.notBefore,
    totalSegments: total,
    segments: Array.from({ length: total }, (_, segment) => segment),
  };
}

export interface SegmentInput {
  readonly exportId: string;
  readonly segment: number;
  readonly totalSegments: number;
}

const partName = (kind: string, segment: number) => `${kind}/part-${String(segment).padStart(4, '0')}.csv.gz`;

async function requireRun(exportId: string): Promise<ExportRun> {
  const run = await findExportRun(exportId);
  if (!run) throw new Error(`No export run ${exportId}`);
  return run;
}

/**
 * One scan segment, streamed card by card: within a segment a partition's items come together and in
 * sort-key order, so a card's entries (`CARD#<id>` / `TX#<seq>`) pass in entry order and only the
 * current card is held. Balances and journal rows go straight into their gzip uploads.
 */
export async function exportSegment(input: SegmentInput, now = new Date()): Promise<SegmentResult> {
  const run = await requireRun(input.exportId);
  if (now.getTime() < Date.parse(run.notBefore)) {
    // Entries dated before the cutoff may still be committing: reading now could miss them.
    throw new Error(`Export ${run.id} may not read before ${run.notBefore}`);
  }
  const done = await findSegment(run.id, input.segment);
  if (done?.status === 'DONE') return done;

  const window = { periodStart: run.periodStart, cutoff: run.cutoff };
  const balances = new CsvObjectWriter(
    partName('balances', input.segment),
    `${run.keyPrefix}${partName('balances', input.segment)}`,
    csvRow(BALANCE_COLUMNS),
  );
  const journal = new CsvObjectWriter(
    partName('journal', input.segment),
    `${run.keyPrefix}${partName('journal', input.segment)}`,
    csvRow(JOURNAL_COLUMNS),
  );
  const summary = new Summary();
  const heads = new MerkleRoot();
  let fold: CardFold | undefined;
  let itemsScanned = 0;
  let entriesRead = 0;
  const flush = async () => {
    if (!fold) return;
    const row = fold.balanceRow();
    if (row) {
      await balances.write(csvRow(balanceCells(row)));
      heads.add(headLeaf(row));
    }
    fold.addTo(summary);
  };
  try {
    let start: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const out = await db().send(
        new ScanCommand({
          TableName: tableName(),
          Segment: input.segment,
          TotalSegments: input.totalSegments,
          // Strongly consistent: every entry committed before the settle margin ran out is seen.
          ConsistentRead: true,
          Limit: config().EXPORT_SCAN_PAGE_ITEMS ?? SCAN_PAGE_ITEMS,
          FilterExpression: 'begins_with(SK, :tx)',
          ExpressionAttributeValues: { ':tx': 'TX#' },
          ExclusiveStartKey: start,
        }),
      );
      itemsScanned += out.ScannedCount ?? 0;
      for (const item of out.Items ?? []) {
        const cardId = String(item.PK).slice('CARD#'.length);
        if (fold?.cardId !== cardId) {
          await flush();
          fold = new CardFold(cardId, window);
        }
        entriesRead += 1;
        const inPeriod = fold.add(withoutLayout<LedgerEntry>(item));
        if (inPeriod) await journal.write(csvRow(journalCells(inPeriod)));
      }
      start = out.LastEvaluatedKey;
      pages += 1;
      if (start && pages % PROGRESS_EVERY_PAGES === 0) {
        await noteSegmentProgress(run.id, input.segment, itemsScanned, new Date());
      }
    } while (start);
    await flush();
  } catch (error) {
    balances.abort(error as Error);
    journal.abort(error as Error);
    throw error;
  }
  const files = [await balances.finish(), await journal.finish()];
  const lines = summary.toLines();
  const cards = lines.reduce((sum, line) => sum + line.cards, 0);
  const journalEntries = lines.reduce((sum, line) => sum + line.journalEntries, 0);
  if (files[0]?.rows !== cards || files[1]?.rows !== journalEntries) {
    throw new LedgerCheckFailed(`Segment ${input.segment}: rows written differ from the summary's counts`);
  }
  const result: SegmentResult = {
    exportId: run.id,
    segment: input.segment,
    status: 'DONE',
    files,
    lines,
    itemsScanned,
    entriesRead,
    chain: { root: heads.root(), cards: heads.leaves },
    completedAt: new Date().toISOString(),
  };
  await saveSegment(result);
  return result;
}

/** The manifest: what finance checks the files against. */
export interface ExportManifest {
  readonly exportId: string;
  readonly runId: string;
  readonly region: string;
  readonly month: string;
  readonly timeZone: string;
  readonly periodStart: string;
  readonly cutoff: string;
  readonly settleMarginSeconds: number;
  readonly generatedAt: string;
  readonly segments: number;
  readonly rows: { readonly balances: number; readonly journal: number; readonly summary: number };
  readonly files: readonly ExportFile[];
  readonly totals: ReturnType<typeof totalsByCurrency>;
  readonly check: string;
  /** The cards' chain heads at the cutoff: their Merkle root, signed (docs/ledger-chain.md). */
  readonly chain: ExportSeal;
}

/** Files a finalize adds beside the summary (the breakage forecast, written by the caller's use case). */
export type ExtraFiles = (run: ExportRun) => Promise<ExportFile[]>;

export async function finalizeExport(
  input: { readonly exportId: string },
  now = new Date(),
  extraFiles: ExtraFiles = async () => [],
): Promise<ExportRun> {
  const run = await requireRun(input.exportId);
  if (run.status === 'SUCCEEDED') return run;
  const total = run.segments ?? 0;
  const segments = (await segmentsOf(run.id))
    .filter((segment) => segment.status === 'DONE' && segment.segment < total)
    .sort((a, b) => a.segment - b.segment);
  if (segments.length !== total || total === 0) {
    throw new Error(`Export ${run.id}: ${segments.length} of ${total} segments done; finalize needs all`);
  }
  const lines = new Summary().merge(segments.flatMap((segment) => segment.lines)).toLines();
  checkLiabilityEquation(lines);

  const summaryFile = new CsvObjectWriter(
    'summary.csv.gz',
    `${run.keyPrefix}summary.csv.gz`,
    csvRow(SUMMARY_COLUMNS),
  );
  for (const line of lines) await summaryFile.write(csvRow(summaryCells(line)));
  const parts = segments.flatMap((segment) => segment.files);
  const files = [
    await summaryFile.finish(),
    ...(await extraFiles(run)),
    ...parts.filter((file) => file.name.startsWith('balances/')),
    ...parts.filter((file) => file.name.startsWith('journal/')),
  ];
  const rowsOf = (prefix: string) =>
    files.filter((file) => file.name.startsWith(prefix)).reduce((sum, file) => sum + file.rows, 0);
  const totals = totalsByCurrency(lines);
  const chain = await sealExport(run, segments, files);
  const manifest: ExportManifest = {
    exportId: run.id,
    runId: run.id,
    region: run.region,
    month: run.month,
    timeZone: run.timeZone,
    periodStart: run.periodStart,
    cutoff: run.cutoff,
    settleMarginSeconds: EXPORT_SETTLE_MARGIN_MS / 1000,
    generatedAt: now.toISOString(),
    segments: total,
    rows: { balances: rowsOf('balances/'), journal: rowsOf('journal/'), summary: rowsOf('summary') },
    files,
    totals,
    check:
      'opening_liability + movements = closing_liability for every program and currency; ' +
      'balances sum to closing_liability; every entry balanceAfter = previous balanceAfter + amount; ' +
      'every chained entry matches its hash and links to the one before',
    chain,
  };
  const manifestFile = await putJson('manifest.json', `${run.keyPrefix}manifest.json`, manifest);
  return markSucceeded(run.id, [...files, manifestFile], totals, now, chain.statement.root);
}

export async function failExport(exportId: string, reason: string, now = new Date()): Promise<void> {
  await markFailed(exportId, reason, now);
}
