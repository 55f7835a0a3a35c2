/**
 * `npm run export -- --month 2026-10` (or `--cutoff <instant>`): runs the finance export of a month
 * against a running `npm start` (its DynamoDB Local and s3rver), with the same plan, segment and finalize
 * handlers the state machine runs in AWS, and a progress bar on stderr. Prints the run (files, rows,
 * SHA-256, download links) as JSON on stdout. Asking again for a finished month prints the same run.
 */

import './quiet-logs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { config } from '../functions/config';
import { DomainError } from '../functions/core/errors';
import { requestedPeriod } from '../functions/core/export-period';
import { type RunProgress, runExport } from '../functions/exports/runner';
import { findExportRun, openExportRun } from '../functions/store/export-runs';
import { exportBucket, s3 } from '../functions/store/s3-client';
import { loadOrCreateExportSigningKey } from './export-signing-key';
import { applyHandlerEnvironment } from './handler-env';
import { LOCAL_EXPORT_BUCKET } from './s3';
import { loadOrCreateLocalSecrets } from './secrets';
import { LOCAL_TABLE_NAME } from './stack';
import { createStaffIssuer } from './staff-issuer';

const USAGE = `Usage: npm run export -- --month YYYY-MM | --cutoff <ISO instant> [options]

  --month YYYY-MM      the month (cutoff 00:00 of the 1st of the next month, REPORTING_TIME_ZONE or UTC)
  --cutoff <instant>   any past instant, e.g. 2026-11-15T12:00:00Z (its month to date)
  --segments <n>       parallel scan segments (default: from the table's size)
  --concurrency <n>    segments scanned at once (default 4)
  --force              run a PENDING or RUNNING export here (its runner died with its process)
  --dynamo-port <port> DynamoDB Local of npm start (default 8000)
  --s3-port <port>     s3rver of npm start (default 4569)
  --data-dir <dir>     npm start's data directory (default .local)
  --table <name>       table name (default ${LOCAL_TABLE_NAME})
`;

const { values } = parseArgs({
  options: {
    month: { type: 'string' },
    cutoff: { type: 'string' },
    segments: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    force: { type: 'boolean', default: false },
    'dynamo-port': { type: 'string', default: '8000' },
    's3-port': { type: 'string', default: '4569' },
    'data-dir': { type: 'string', default: '.local' },
    table: { type: 'string', default: LOCAL_TABLE_NAME },
    help: { type: 'boolean', default: false },
  },
});
if (values.help || (!values.month && !values.cutoff)) {
  process.stderr.write(USAGE);
  process.exit(values.help ? 0 : 2);
}

const dataDir = resolve(values['data-dir'] ?? '.local');
const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));
const issuer = await createStaffIssuer({ signingKey: secrets.staffSigningKey, issuer: 'local-export' });
if (values.segments) process.env.EXPORT_SEGMENTS = values.segments;
applyHandlerEnvironment({
  tableName: values.table ?? LOCAL_TABLE_NAME,
  dynamodbEndpoint: `http://127.0.0.1:${values['dynamo-port']}`,
  codePepper: secrets.codePepper,
  issuer,
  logLevel: 'ERROR',
  s3: { endpoint: `http://127.0.0.1:${values['s3-port']}`, bucket: LOCAL_EXPORT_BUCKET },
  exportSigningKeyPem: loadOrCreateExportSigningKey(join(dataDir, 'export-signing-key.pem')),
});

/** A bar on a terminal; one line per change otherwise (CI logs). */
function progressBar(): (progress: RunProgress) => void {
  let last = '';
  return (progress) => {
    const { segmentsDone, totalSegments, phase } = progress;
    const width = 30;
    const filled = totalSegments ? Math.round((segmentsDone / totalSegments) * width) : 0;
    const text =
      phase === 'waiting'
        ? `waiting ${Math.ceil((progress.waitMs ?? 0) / 1000)} s for writes dated before the cutoff to settle`
        : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${segmentsDone}/${totalSegments} segments ${phase}`;
    if (text === last) return;
    last = text;
    if (process.stderr.isTTY) process.stderr.write(`\r${text.padEnd(90)}${phase === 'done' ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
}

try {
  const period = requestedPeriod(
    { ...(values.month ? { month: values.month } : {}), ...(values.cutoff ? { cutoff: values.cutoff } : {}) },
    config().REPORTING_TIME_ZONE,
    new Date(),
  );
  const opened = await openExportRun(
    period,
    config().AWS_REGION,
    { type: 'system', id: 'export-cli' },
    new Date(),
  );
  const { run } = opened;
  process.stderr.write(`export ${run.id}: ${run.month} up to ${run.cutoff} (${run.status})\n`);
  if (opened.start || (values.force && run.status !== 'SUCCEEDED')) {
    await runExport(run.id, {
      concurrency: Number(values.concurrency ?? 4),
      onProgress: progressBar(),
    });
  } else if (run.status !== 'SUCCEEDED') {
    throw new Error(`export ${run.id} is ${run.status} elsewhere; wait for it, or run it here with --force`);
  }
  const finished = await findExportRun(run.id);
  const files = await Promise.all(
    (finished?.files ?? []).map(async (file) => ({
      ...file,
      url: await getSignedUrl(s3(), new GetObjectCommand({ Bucket: exportBucket(), Key: file.key }), {
        expiresIn: 900,
      }),
    })),
  );
  process.stdout.write(`${JSON.stringify({ ...finished, files }, null, 2)}\n`);
} catch (error) {
  const message =
    error instanceof DomainError
      ? `${error.message} ${JSON.stringify(error.fieldErrors ?? [])}`
      : (error as Error).message;
  process.stderr.write(`\nexport failed: ${message} (is \`npm start\` running?)\n`);
  process.exit(1);
}
