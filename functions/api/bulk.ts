import * as z from 'zod';
import { openBulkBatch, submitBulkBatch, visibleBatch } from '../app/bulk-batches';
import type { BulkBatch } from '../core/bulk/bulk-batch-model';
import { BULK_FILE_FORMATS, BULK_OUTPUTS } from '../core/bulk/bulk-batch-model';
import { apiHandler, type Operations, operation } from '../http/api-handler';
import type { Principal } from '../http/auth';
import { actorOf, programVisibility } from '../http/auth';
import { pathId } from '../http/params';
import { bulkBatchOpenedSchema, bulkBatchPageSchema, bulkBatchSchema } from '../http/response-schemas/bulk';
import { emptyBody, entityId, listQuery, safeText } from '../http/validation';
import { listBulkBatches } from '../store/bulk-batches';
import { bulkDownloadUrl } from '../store/bulk-files';

/**
 * Bulk issuance for business customers (issue #19; docs/bulk-issuance.md): open a batch, PUT the CSV to
 * its upload URL, submit it (validated whole: refused with every problem, or accepted and run in the
 * background), follow its progress, download the encrypted result file.
 */
const batchId = (params: Readonly<Record<string, string>>) =>
  pathId(params, 'batchId', 'blk', 'The bulk batch');

const visibility = (principal: Principal) => (batch: Pick<BulkBatch, 'merchantId'>) =>
  principal.type === 'staff' || (principal.type === 'merchant' && batch.merchantId === principal.merchant.id);

const openBody = z
  .object({
    programId: entityId('prg'),
    customerName: safeText(200).describe('the business customer, as the invoice names it'),
    output: z
      .enum(BULK_OUTPUTS)
      .describe('CLAIM_LINKS (default) or CODES, for customers who hand the codes out'),
    deliver: z.boolean().optional().describe('send each row with a recipient_email its e-gift message'),
    format: z
      .enum(BULK_FILE_FORMATS)
      .optional()
      .describe(
        'the file to upload: CSV (default, text/csv) or JSON, one array of row objects (application/json)',
      ),
    recipientKey: z.string().min(100).max(12_000).describe("the customer's armored OpenPGP public key"),
  })
  .strict();

async function batchView(batch: BulkBatch) {
  return {
    id: batch.id,
    status: batch.status,
    programId: batch.programId,
    currency: batch.currency,
    customerName: batch.customerName,
    output: batch.output,
    deliver: batch.deliver,
    format: batch.format ?? 'CSV',
    recipientFingerprint: batch.recipientFingerprint,
    rows: batch.rows,
    totalMinor: batch.totalMinor,
    progress: { chunks: batch.chunks, chunksDone: batch.chunksDone, rowsDone: batch.rowsDone },
    problems: [...batch.problems],
    moreProblems: batch.moreProblems,
    requestedBy: { type: batch.requestedBy.type, id: batch.requestedBy.id },
    createdAt: batch.createdAt,
    submittedAt: batch.submittedAt ?? null,
    completedAt: batch.completedAt ?? null,
    error: batch.error ?? null,
    resultFile: batch.resultFile
      ? {
          rows: batch.resultFile.rows,
          bytes: batch.resultFile.bytes,
          sha256: batch.resultFile.sha256,
          recipientFingerprint: batch.resultFile.recipientFingerprint,
          url: await bulkDownloadUrl(batch.resultFile.key),
        }
      : null,
  };
}

export const operations: Operations = {
  'POST /v1/bulk-batches': operation({
    summary: 'Open a bulk issuance batch: answers the URL to PUT its CSV file to',
    body: openBody,
    response: bulkBatchOpenedSchema,
    status: 201,
    run: async ({ principal, body, now }) => {
      const { batch, uploadUrl } = await openBulkBatch(
        { ...body, deliver: body.deliver ?? false, format: body.format ?? 'CSV' },
        actorOf(principal),
        principal.type === 'merchant' ? principal.merchant.id : undefined,
        programVisibility(principal),
        now,
      );
      return { batch: await batchView(batch), uploadUrl };
    },
  }),
  'GET /v1/bulk-batches': operation({
    summary:
      'Bulk batches, newest first, each with its invoice summary (count, total, currency, program, who)',
    query: z.object(listQuery).strict(),
    response: bulkBatchPageSchema,
    run: async ({ principal, query }) => {
      const page = await listBulkBatches(query.limit, query.cursor);
      const visible = visibility(principal);
      return {
        items: await Promise.all(page.items.filter(visible).map(batchView)),
        nextCursor: page.nextCursor,
      };
    },
  }),
  'GET /v1/bulk-batches/{batchId}': operation({
    summary: 'A bulk batch: status, progress, problems and, once done, its encrypted result file',
    response: bulkBatchSchema,
    run: async ({ principal, params }) =>
      batchView(await visibleBatch(batchId(params), visibility(principal))),
  }),
  'POST /v1/bulk-batches/{batchId}/submit': operation({
    summary: 'Validate the uploaded file: refused with every bad row by line and field, or accepted and run',
    body: emptyBody,
    response: bulkBatchSchema,
    run: async ({ principal, params, now }) =>
      batchView(await submitBulkBatch(batchId(params), visibility(principal), now)),
  }),
};

export const handler = apiHandler('bulk', operations);
