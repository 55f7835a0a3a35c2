import * as z from 'zod';
import { BULK_FILE_FORMATS, BULK_OUTPUTS, BULK_STATUSES } from '../../core/bulk/bulk-batch-model';
import { actorSchema, count, isoTime, minor, pageSchema } from './common';

/** Bulk issuance batches (issue #19): status, progress, problems, the invoice summary and the result file. */
export const bulkProblemSchema = z.object({
  line: z.number().int().min(0),
  field: z.string(),
  message: z.string(),
});

export const bulkBatchSchema = z.object({
  id: z.string(),
  status: z.enum(BULK_STATUSES),
  programId: z.string(),
  currency: z.string(),
  customerName: z.string(),
  output: z.enum(BULK_OUTPUTS),
  deliver: z.boolean(),
  format: z.enum(BULK_FILE_FORMATS),
  recipientFingerprint: z.string(),
  rows: count,
  totalMinor: minor,
  progress: z.object({ chunks: count, chunksDone: count, rowsDone: count }),
  problems: z.array(bulkProblemSchema),
  moreProblems: count,
  requestedBy: actorSchema,
  createdAt: isoTime,
  submittedAt: isoTime.nullable(),
  completedAt: isoTime.nullable(),
  error: z.string().nullable(),
  resultFile: z
    .object({
      rows: count,
      bytes: count,
      sha256: z.string(),
      recipientFingerprint: z.string(),
      url: z.string().describe('download link, 15 minutes'),
    })
    .nullable(),
});

export const bulkBatchOpenedSchema = z.object({
  batch: bulkBatchSchema,
  uploadUrl: z
    .string()
    .describe('PUT the file here within an hour: text/csv, or application/json for a JSON batch'),
});

export const bulkBatchPageSchema = pageSchema(bulkBatchSchema);

/** An accepted batch's invoice summary (finance: GET /v1/reports/bulk-invoices, the export's bulk-invoices file). */
export const bulkInvoiceSchema = z.object({
  batchId: z.string(),
  acceptedAt: isoTime,
  programId: z.string(),
  currency: z.string(),
  count,
  totalMinor: minor,
  customerName: z.string(),
  requestedBy: actorSchema,
  merchantId: z.string().nullable(),
  status: z.enum(BULK_STATUSES).nullable().describe("the batch's status now"),
});

/** A page of invoices; the first page also totals every matching invoice of the range per currency. */
export const bulkInvoiceReportSchema = pageSchema(bulkInvoiceSchema).extend({
  from: z.string(),
  to: z.string(),
  totals: z
    .array(z.object({ currency: z.string(), batches: count, cards: count, totalMinor: minor }))
    .nullable()
    .describe(
      'per currency over every invoice the filters match in from..to; on the first page only (null with a cursor), and null when the range holds more than 20,000 invoices',
    ),
});
