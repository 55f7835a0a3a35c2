import { launchBulkRun } from '../bulk/launcher';
import type { AuditRecord } from '../core/audit';
import {
  type BulkBatch,
  type BulkFileFormat,
  type BulkInvoiceRecord,
  type BulkOutput,
  chunksOf,
  invoiceOf,
} from '../core/bulk/bulk-batch-model';
import { DomainError, notFound, validationFailed } from '../core/errors';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import type { Program } from '../core/program';
import { auditInsert } from '../store/audit';
import { createBulkBatch, decideBulkBatch, findBulkBatch } from '../store/bulk-batches';
import {
  bulkContentType,
  bulkFileChunks,
  bulkInputKey,
  bulkUploadUrl,
  readRecipientKey,
} from '../store/bulk-files';
import { bulkInvoicePut } from '../store/bulk-invoices';
import { getProgram } from '../store/programs';
import { BULK_FILE_LIMITS, validateBulkFile } from './bulk-validate';

export interface NewBulkBatch {
  readonly programId: string;
  readonly customerName: string;
  readonly output: BulkOutput;
  readonly deliver: boolean;
  readonly recipientKey: string;
  /** The file the customer uploads: CSV (default) or a JSON batch. */
  readonly format: BulkFileFormat;
}

/** Who may see a batch: staff any, a merchant its own. */
export type BatchVisibility = (batch: Pick<BulkBatch, 'merchantId'>) => boolean;

/**
 * Primary course: check the program and the customer's OpenPGP key, record the batch AWAITING_FILE and
 * hand back a presigned URL the customer PUTs the CSV to (S3 takes files of any size the validation
 * allows; API Gateway and Lambda payloads do not).
 */
export async function openBulkBatch(
  input: NewBulkBatch,
  actor: Actor,
  merchantId: string | undefined,
  programVisible: (program: Program) => boolean,
  now: Date,
): Promise<{ batch: BulkBatch; uploadUrl: string }> {
  const program = await getProgram(input.programId, { cached: true }).catch((error: unknown) => {
    throw error instanceof DomainError ? notFound('The program') : error;
  });
  if (!programVisible(program)) throw notFound('The program');
  const key = await readRecipientKey(input.recipientKey);
  if (!key) {
    throw validationFailed([
      { field: 'recipientKey', message: 'must be an armored OpenPGP public key that can encrypt' },
    ]);
  }
  const id = newId('blk', now);
  const batch: BulkBatch = {
    id,
    programId: program.id,
    currency: program.currency,
    ...(merchantId ? { merchantId } : {}),
    customerName: input.customerName,
    output: input.output,
    deliver: input.deliver,
    recipientKey: input.recipientKey,
    recipientFingerprint: key.getFingerprint(),
    status: 'AWAITING_FILE',
    fileKey: bulkInputKey(id, input.format),
    format: input.format,
    rows: 0,
    totalMinor: 0,
    chunks: 0,
    chunksDone: 0,
    rowsDone: 0,
    problems: [],
    moreProblems: 0,
    requestedBy: {
      type: actor.type,
      id: actor.id,
      ...(actor.role ? { role: actor.role } : {}),
      ...(actor.keyId ? { keyId: actor.keyId } : {}),
    },
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await createBulkBatch(batch);
  return { batch, uploadUrl: await bulkUploadUrl(batch.fileKey, bulkContentType(input.format)) };
}

export async function visibleBatch(batchId: string, visible: BatchVisibility): Promise<BulkBatch> {
  const batch = await findBulkBatch(batchId);
  if (!batch || !visible(batch)) throw notFound('The bulk batch');
  return batch;
}

/** The invoice summary finance lists and exports (store/bulk-invoices.ts), written with the acceptance. */
function invoiceRecord(
  batch: BulkBatch,
  verdict: { rows: number; totalMinor: number },
  now: Date,
): BulkInvoiceRecord {
  return {
    ...invoiceOf({ ...batch, rows: verdict.rows, totalMinor: verdict.totalMinor }),
    acceptedAt: now.toISOString(),
    ...(batch.merchantId ? { merchantId: batch.merchantId } : {}),
  };
}

/** The invoice-style audit record of an accepted batch, written with the decision that accepts it. */
function invoiceAudit(
  batch: BulkBatch,
  verdict: { rows: number; totalMinor: number },
  now: Date,
): AuditRecord {
  const invoice = invoiceOf({ ...batch, rows: verdict.rows, totalMinor: verdict.totalMinor });
  return {
    id: newId('aud', now),
    at: now.toISOString(),
    actor: { type: batch.requestedBy.type, id: batch.requestedBy.id },
    action: 'bulkBatch.accept',
    subjectType: 'bulkBatch',
    subjectId: batch.id,
    programId: batch.programId,
    ...(batch.merchantId ? { merchantId: batch.merchantId } : {}),
    before: { status: 'AWAITING_FILE' },
    after: { status: 'RUNNING', ...invoice },
  };
}

/**
 * Primary course: stream the uploaded file through the validation (nothing is created); a file with any
 * problem is REFUSED with every problem by line and field; an accepted one starts RUNNING, its invoice
 * summary in the audit trail in the same write, and the background run is launched. Submitting a batch
 * already decided answers it as it is (a retry starts nothing twice).
 */
export async function submitBulkBatch(
  batchId: string,
  visible: BatchVisibility,
  now: Date,
): Promise<BulkBatch> {
  const batch = await visibleBatch(batchId, visible);
  if (batch.status !== 'AWAITING_FILE') return batch;
  const chunks = await bulkFileChunks(batch.fileKey);
  if (!chunks) {
    throw new DomainError(
      'CONFLICT',
      'No file was uploaded for this batch yet: PUT it to the uploadUrl first.',
    );
  }
  const program = await getProgram(batch.programId, { cached: true });
  const validation = await validateBulkFile(chunks, program, BULK_FILE_LIMITS, batch.format);
  const status = validation.accepted ? 'RUNNING' : 'REFUSED';
  const decided = await decideBulkBatch(
    batch.id,
    {
      status,
      rows: validation.rows,
      totalMinor: validation.totalMinor,
      chunks: validation.accepted ? chunksOf(validation.rows) : 0,
      problems: validation.problems,
      moreProblems: validation.moreProblems,
    },
    now,
    validation.accepted
      ? [
          auditInsert(invoiceAudit(batch, validation, now)),
          bulkInvoicePut(invoiceRecord(batch, validation, now)),
        ]
      : [],
  );
  const after = (await findBulkBatch(batch.id)) ?? batch;
  if (decided && status === 'RUNNING') await launchBulkRun(batch.id);
  return after;
}
