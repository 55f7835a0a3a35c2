import type { BulkProblem } from '../bulk-batch';
import type { Actor } from '../ledger';

/**
 * A bulk issuance batch (issue #19): a business customer's file of cards to issue, validated whole, then
 * issued in the background in chunks of CHUNK_ROWS rows. The row's reference is its idempotency key, so a
 * chunk run again after a crash issues no card twice; `chunksDone` moves on only once a chunk's results
 * are stored, so a run resumes at the first chunk not finished.
 *
 *   AWAITING_FILE -> (file uploaded, submitted) -> REFUSED | RUNNING -> SUCCEEDED | FAILED
 */
export const BULK_STATUSES = ['AWAITING_FILE', 'REFUSED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type BulkStatus = (typeof BULK_STATUSES)[number];

/** What the result file gives per card: a claim link to hand on, or the code itself (B2B distributes it). */
export const BULK_OUTPUTS = ['CLAIM_LINKS', 'CODES'] as const;
export type BulkOutput = (typeof BULK_OUTPUTS)[number];

/** The uploaded file: a CSV with a header line, or a JSON batch (one array of row objects). */
export const BULK_FILE_FORMATS = ['CSV', 'JSON'] as const;
export type BulkFileFormat = (typeof BULK_FILE_FORMATS)[number];

/**
 * Cards written in one transaction: 6 items each at most (card, ISSUE and ACTIVATE entries, idempotency
 * record, delivery, claim token) plus the shard count, under DynamoDB's 100 a transaction.
 */
export const GROUP_ROWS = 16;
/** Rows issued together and recorded as one unit of progress: whole groups (8 of GROUP_ROWS). */
export const CHUNK_ROWS = 8 * GROUP_ROWS;
/**
 * Chunks under way at once: read ahead from the file and issued concurrently, recorded in file order. Memory
 * is this many chunks of rows and results, whatever the file's size.
 */
export const CHUNKS_IN_FLIGHT = 4;
/**
 * Group transactions in flight at once over those chunks: one per issue-count shard at most (16), so two
 * groups never contend for the same counter item.
 */
export const GROUPS_IN_FLIGHT = 12;

export interface BulkInvoice {
  readonly batchId: string;
  readonly count: number;
  readonly totalMinor: number;
  readonly currency: string;
  readonly programId: string;
  readonly customerName: string;
  readonly requestedBy: Pick<Actor, 'type' | 'id'>;
}

/** An accepted batch's invoice as finance reads it: when it was accepted, and for which merchant. */
export interface BulkInvoiceRecord extends BulkInvoice {
  readonly acceptedAt: string;
  readonly merchantId?: string;
}

export const BULK_INVOICE_COLUMNS = [
  'batch_id',
  'accepted_at',
  'program_id',
  'currency',
  'count',
  'total',
  'customer_name',
  'requested_by_type',
  'requested_by_id',
  'merchant_id',
] as const;

export const bulkInvoiceCells = (invoice: BulkInvoiceRecord) => [
  invoice.batchId,
  invoice.acceptedAt,
  invoice.programId,
  invoice.currency,
  invoice.count,
  invoice.totalMinor,
  invoice.customerName,
  invoice.requestedBy.type,
  invoice.requestedBy.id,
  invoice.merchantId ?? '',
];

export interface BulkResultFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly recipientFingerprint: string;
}

export interface BulkBatch {
  readonly id: string;
  readonly programId: string;
  readonly currency: string;
  readonly merchantId?: string;
  readonly customerName: string;
  readonly output: BulkOutput;
  /** Send each row that has an e-mail address its e-gift message (else only the result file carries links). */
  readonly deliver: boolean;
  /** The customer's OpenPGP public key (armored) the result file is encrypted to, and its fingerprint. */
  readonly recipientKey: string;
  readonly recipientFingerprint: string;
  readonly status: BulkStatus;
  /** The uploaded file in the bulk bucket, and its format (batches from before JSON have none: CSV). */
  readonly fileKey: string;
  readonly format?: BulkFileFormat;
  readonly rows: number;
  readonly totalMinor: number;
  readonly chunks: number;
  readonly chunksDone: number;
  readonly rowsDone: number;
  readonly problems: readonly BulkProblem[];
  readonly moreProblems: number;
  readonly resultFile?: BulkResultFile;
  readonly error?: string;
  readonly requestedBy: Pick<Actor, 'type' | 'id' | 'role' | 'keyId'>;
  readonly createdAt: string;
  readonly submittedAt?: string;
  readonly completedAt?: string;
  readonly updatedAt: string;
  /** Resumes by the bulk-resume job (functions/app/bulk-resume.ts), the last one, and at which chunk. */
  readonly resumes?: number;
  readonly resumedAt?: string;
  readonly resumedAtChunk?: number;
  /** Resumes in a row that found the batch at the same chunk: past MAX_STALLED_RESUMES it is failed. */
  readonly stalledResumes?: number;
}

/** Minutes without progress after which a running batch counts as stuck (its runner died). */
export const BULK_STALL_MINUTES = 15;
/** Resumes in a row that find no progress before the batch is failed (a fault no retry will cure). */
export const MAX_STALLED_RESUMES = 3;

/**
 * Whether a running batch should be resumed at `now`, and the stall count it would then have; the batch's
 * `updatedAt` moves with each chunk recorded (and each resume), so a live runner is never judged stuck.
 */
export function resumeVerdict(
  batch: Pick<BulkBatch, 'status' | 'updatedAt' | 'chunksDone' | 'resumedAtChunk' | 'stalledResumes'>,
  now: Date,
): { readonly action: 'wait' } | { readonly action: 'resume' | 'fail'; readonly stalledResumes: number } {
  if (batch.status !== 'RUNNING') return { action: 'wait' };
  if (now.getTime() - Date.parse(batch.updatedAt) < BULK_STALL_MINUTES * 60_000) return { action: 'wait' };
  const stalledResumes = batch.resumedAtChunk === batch.chunksDone ? (batch.stalledResumes ?? 0) + 1 : 1;
  return { action: stalledResumes > MAX_STALLED_RESUMES ? 'fail' : 'resume', stalledResumes };
}

export const chunksOf = (rows: number): number => Math.ceil(rows / CHUNK_ROWS);

/** The chunk a data row (0-based, in file order) belongs to. */
export const chunkOfRow = (rowIndex: number): number => Math.floor(rowIndex / CHUNK_ROWS);

export const invoiceOf = (batch: BulkBatch): BulkInvoice => ({
  batchId: batch.id,
  count: batch.rows,
  totalMinor: batch.totalMinor,
  currency: batch.currency,
  programId: batch.programId,
  customerName: batch.customerName,
  requestedBy: { type: batch.requestedBy.type, id: batch.requestedBy.id },
});
