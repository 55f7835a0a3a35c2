import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import * as z from 'zod';
import { config } from '../config';
import { notFound } from '../core/errors';
import { requestedPeriod } from '../core/export-period';
import { launchExport } from '../exports/launcher';
import { apiHandler, type Operations, operation } from '../http/api-handler';
import { actorOf } from '../http/auth';
import { pathId } from '../http/params';
import { itemsSchema } from '../http/response-schemas/common';
import { exportRunSchema, exportStartedSchema } from '../http/response-schemas/finance';
import { isoInstant, isoMonth } from '../http/validation';
import type { ExportFile } from '../store/export-files';
import { recentExportRuns, rememberRequestedExport } from '../store/export-list';
import { type ExportRun, findExportRun, openExportRun } from '../store/export-runs';
import { exportBucket, s3 } from '../store/s3-client';

/**
 * Finance exports (staff: finance, admin): balances as of a cutoff, the period's journal and the
 * liability summary, as gzip CSV files in the region's export bucket (functions/store/exports.ts).
 * The monthly schedule runs one on the 1st; POST runs one on demand. Asking again for the same month
 * or cutoff returns the same run.
 */

/** Download links are short-lived: long enough to fetch a big file, short enough not to be shared around. */
const DOWNLOAD_URL_SECONDS = 15 * 60;

const exportBody = z
  .object({
    month: isoMonth
      .optional()
      .describe('A calendar month: cutoff at 00:00 of the 1st of the next month in the region time zone'),
    cutoff: isoInstant
      .optional()
      .describe('Any past instant: balances as of it, the journal of its month up to it'),
  })
  .strict();

async function fileView(file: ExportFile) {
  const url = await getSignedUrl(s3(), new GetObjectCommand({ Bucket: exportBucket(), Key: file.key }), {
    expiresIn: DOWNLOAD_URL_SECONDS,
  });
  return { name: file.name, key: file.key, rows: file.rows, bytes: file.bytes, sha256: file.sha256, url };
}

async function exportView(run: ExportRun) {
  return {
    id: run.id,
    status: run.status,
    month: run.month,
    periodStart: run.periodStart,
    cutoff: run.cutoff,
    timeZone: run.timeZone,
    region: run.region,
    notBefore: run.notBefore,
    segments: run.segments ?? null,
    segmentsDone: run.segmentsDone,
    attempt: run.attempt,
    requestedBy: run.requestedBy,
    createdAt: run.createdAt,
    completedAt: run.completedAt ?? null,
    error: run.error ?? null,
    totals: run.totals ?? null,
    files: run.status === 'SUCCEEDED' ? await Promise.all((run.files ?? []).map(fileView)) : [],
  };
}

export const operations: Operations = {
  'POST /v1/exports': operation({
    summary:
      'Start the finance export of a month ({ month: "YYYY-MM" }) or up to a past instant ({ cutoff })',
    response: exportStartedSchema,
    body: exportBody,
    status: 202,
    run: async ({ principal, body, now }) => {
      const period = requestedPeriod(body, config().REPORTING_TIME_ZONE, now);
      const actor = actorOf(principal);
      const { run, start } = await openExportRun(
        period,
        config().AWS_REGION,
        { type: actor.type, id: actor.id },
        now,
      );
      // Listed on the console's Finance page (monthly runs are found without it).
      await rememberRequestedExport(run.id, run.cutoff);
      if (start) await launchExport(run);
      return { id: run.id, status: run.status, month: run.month, cutoff: run.cutoff };
    },
  }),
  'GET /v1/exports': operation({
    summary:
      'Recent finance exports: the monthly runs of the last 12 months and those asked for, newest first',
    response: itemsSchema(exportRunSchema),
    run: async ({ now }) => {
      const runs = await recentExportRuns(config().AWS_REGION, config().REPORTING_TIME_ZONE, now);
      return { items: await Promise.all(runs.map(exportView)) };
    },
  }),
  'GET /v1/exports/{exportId}': operation({
    summary: 'A finance export: status, progress and, once done, its files with download links',
    response: exportRunSchema,
    run: async ({ params }) => {
      const run = await findExportRun(pathId(params, 'exportId', 'exp', 'The export'));
      if (!run) throw notFound('The export');
      return exportView(run);
    },
  }),
};

export const handler = apiHandler('exports', operations);
