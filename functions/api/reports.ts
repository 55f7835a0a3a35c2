import * as z from 'zod';
import { breakageReport } from '../app/breakage-report';
import { bulkInvoiceReport } from '../app/bulk-invoice-report';
import { type AuditRecord, auditRange } from '../core/audit';
import { lastCompleteMonth } from '../core/breakage';
import { type BulkInvoiceWithStatus, INVOICED_STATUSES } from '../core/bulk/bulk-invoice-filter';
import { checkReportRange, dailyRows, summaryRows } from '../core/report';
import { apiHandler, type Operations, operation } from '../http/api-handler';
import { bulkInvoiceReportSchema } from '../http/response-schemas/bulk';
import { pageSchema } from '../http/response-schemas/common';
import {
  auditRecordSchema,
  breakageReportSchema,
  reportDailySchema,
  reportSummarySchema,
} from '../http/response-schemas/finance';
import {
  actorIdQuery,
  currency,
  entityId,
  isoDate,
  isoDateOrInstant,
  isoMonth,
  listQuery,
  safeText,
} from '../http/validation';
import { pageView } from '../http/views';
import { listAudit } from '../store/audit';
import { readReport } from '../store/reports';

/**
 * Finance reports and the audit trail (staff: finance, admin; support may read the audit trail).
 * Reports read the aggregates the reporting stream consumer keeps (functions/streams/reporting.ts), by
 * UTC day; amounts are minor units. The audit trail is read-only: no route writes, changes or deletes
 * a record, and its store has no function that could.
 */
const reportQuery = z
  .object({
    from: isoDate,
    to: isoDate,
    programId: entityId('prg').optional(),
    currency: currency.optional(),
    merchantId: entityId('mer').optional(),
  })
  .strict();

type ReportQuery = z.infer<typeof reportQuery>;

function readRange(query: ReportQuery) {
  checkReportRange(query.from, query.to);
  return readReport({
    from: query.from,
    to: query.to,
    ...(query.programId ? { programId: query.programId } : {}),
    ...(query.currency ? { currency: query.currency } : {}),
    ...(query.merchantId ? { merchantId: query.merchantId } : {}),
  });
}

export const auditView = (record: AuditRecord) => ({
  id: record.id,
  at: record.at,
  actor: { type: record.actor.type, id: record.actor.id, role: record.actor.role ?? null },
  action: record.action,
  subjectType: record.subjectType,
  subjectId: record.subjectId,
  cardId: record.cardId ?? null,
  programId: record.programId ?? null,
  merchantId: record.merchantId ?? null,
  transactionId: record.transactionId ?? null,
  reason: record.reason ?? null,
  before: record.before,
  after: record.after,
});

const dayAfter = (day: string) => new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString();

const bulkInvoiceQuery = z
  .object({
    ...listQuery,
    from: isoDate,
    to: isoDate,
    programId: entityId('prg').optional(),
    currency: currency.optional(),
    merchantId: entityId('mer').optional(),
    requestedBy: actorIdQuery.optional(),
    customer: safeText(200).pipe(z.string().min(1, 'must not be blank')).optional(),
    status: z.enum(INVOICED_STATUSES).optional(),
  })
  .strict();

const bulkInvoiceView = ({ invoice, status }: BulkInvoiceWithStatus) => ({
  batchId: invoice.batchId,
  acceptedAt: invoice.acceptedAt,
  programId: invoice.programId,
  currency: invoice.currency,
  count: invoice.count,
  totalMinor: invoice.totalMinor,
  customerName: invoice.customerName,
  requestedBy: { type: invoice.requestedBy.type, id: invoice.requestedBy.id },
  merchantId: invoice.merchantId ?? null,
  status: status ?? null,
});

export const operations: Operations = {
  'GET /v1/reports/summary': operation({
    summary:
      'Totals per currency for UTC days from..to (at most 366): issued, activated, loaded, redeemed, refunded, adjusted, expired, ...; outstandingLiability at the end of `to`',
    response: reportSummarySchema,
    query: reportQuery,
    run: async ({ query }) => ({
      from: query.from,
      to: query.to,
      items: summaryRows(await readRange(query)),
    }),
  }),
  'GET /v1/reports/daily': operation({
    summary:
      'The same totals per currency and UTC day (every day of the range), with the liability at each day end',
    response: reportDailySchema,
    query: reportQuery,
    run: async ({ query }) => ({
      from: query.from,
      to: query.to,
      items: dailyRows(await readRange(query), query.from, query.to),
    }),
  }),
  'GET /v1/reports/breakage': operation({
    summary:
      'Breakage forecast per issue-month cohort of a currency (and program) as of a month (default the last complete UTC month): redemption curves, chain-ladder expected breakage, breakage recognised to date in proportion to redemptions, outstanding liability (docs/breakage.md)',
    response: breakageReportSchema,
    query: z.object({ currency, programId: entityId('prg').optional(), asOf: isoMonth.optional() }).strict(),
    run: async ({ query, now }) =>
      breakageReport({
        currency: query.currency,
        asOf: query.asOf ?? lastCompleteMonth(now),
        ...(query.programId ? { programId: query.programId } : {}),
      }),
  }),
  'GET /v1/reports/bulk-invoices': operation({
    summary:
      'Bulk batches accepted on UTC days from..to (at most 366), oldest first: the invoice summary of each (count, total, currency, program, customer, who asked, status now); ?programId=&currency=&merchantId=&requestedBy=&customer=&status= narrow it; the first page totals every match per currency',
    response: bulkInvoiceReportSchema,
    query: bulkInvoiceQuery,
    run: async ({ query }) => {
      const { from, to, limit, cursor, ...filter } = query;
      checkReportRange(from, to);
      const report = await bulkInvoiceReport(
        { fromInstant: `${from}T00:00:00.000Z`, toInstant: dayAfter(to) },
        filter,
        limit,
        cursor,
      );
      return { from, to, ...pageView(report, bulkInvoiceView), totals: report.totals };
    },
  }),
  'GET /v1/audit': operation({
    summary:
      'Staff actions newest first, with actor, reason, before and after (?cardId=, ?actor=, ?from=&to= dates or instants; default the last 30 days)',
    response: pageSchema(auditRecordSchema),
    query: z
      .object({
        ...listQuery,
        cardId: entityId('gc').optional(),
        actor: actorIdQuery.optional(),
        from: isoDateOrInstant.optional(),
        to: isoDateOrInstant.optional(),
      })
      .strict(),
    run: async ({ query, now }) => {
      const range = auditRange(query.from, query.to, now);
      return pageView(
        await listAudit({
          ...range,
          limit: query.limit,
          ...(query.cardId ? { cardId: query.cardId } : {}),
          ...(query.actor ? { actor: query.actor } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        }),
        auditView,
      );
    },
  }),
};

export const handler = apiHandler('reports', operations);
