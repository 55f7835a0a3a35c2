import { join, resolve } from 'node:path';
import { verifyExport } from '../../functions/app/export-verify';
import {
  type LedgerVerdict,
  type VerifyProgress,
  verifyCard,
  verifyProgram,
} from '../../functions/app/ledger-verify';
import { useLocalStackEnvironment } from '../cli-environment';
import { loadOrCreateExportSigningKey } from '../export-signing-key';
import { LOCAL_EXPORT_BUCKET } from '../s3';
import { type OpsArgs, type OpsCommand, option, UsageError } from './command';

/**
 * `npm run ops -- verify-ledger --card <id> | --program <id> | --export <id> [--chained-since <instant>]`:
 * recomputes the ledger's hash chains (functions/app/ledger-verify.ts) and, for an export, its files'
 * checksums, Merkle root, signature and continuity with the month before. Against npm start's stack by
 * default; with `--aws`, against the deployment the environment names (TABLE_NAME, EXPORT_BUCKET_NAME,
 * EXPORT_SIGNING_KEY_ID, AWS_REGION and the operator's credentials). Exit code 1 on any break.
 */
async function useEnvironment(args: OpsArgs): Promise<void> {
  if (args.get('aws') === true) return;
  const dataDir = resolve(option(args, 'data-dir') ?? '.local');
  await useLocalStackEnvironment({
    dataDir,
    dynamoPort: option(args, 'dynamo-port'),
    issuerName: 'verify-ledger',
  });
  process.env.S3_ENDPOINT = `http://127.0.0.1:${option(args, 's3-port') ?? '4569'}`;
  process.env.EXPORT_BUCKET_NAME = LOCAL_EXPORT_BUCKET;
  process.env.EXPORT_SIGNING_KEY_PEM = loadOrCreateExportSigningKey(join(dataDir, 'export-signing-key.pem'));
  const { resetConfigForTests } = await import('../../functions/config');
  resetConfigForTests();
}

const progressLine = (progress: VerifyProgress) =>
  `${progress.phase}: ${progress.done}${progress.total === undefined ? '' : ` of ${progress.total}`}`;

export const verifyLedgerCommand: OpsCommand = {
  name: 'verify-ledger',
  summary:
    "Recomputes the ledger's hash chains, an export's root and signature; names the first broken entry.",
  usage: [
    '--card <id> | --program <id> | --export <id>   what to verify (one of them)',
    '--chained-since <instant>   entries without a hash dated after it are breaks, not legacy',
    '--aws                       the deployment of the environment (TABLE_NAME, EXPORT_BUCKET_NAME, ...)',
    '--data-dir <dir> --dynamo-port <n> --s3-port <n>   npm start stack (default .local, 8000, 4569)',
  ].join('\n'),
  run: async (args, io) => {
    const card = option(args, 'card');
    const program = option(args, 'program');
    const exportId = option(args, 'export');
    if ([card, program, exportId].filter(Boolean).length !== 1) {
      throw new UsageError('give exactly one of --card, --program, --export');
    }
    const chainedSince = option(args, 'chained-since');
    if (chainedSince !== undefined && Number.isNaN(Date.parse(chainedSince))) {
      throw new UsageError('--chained-since must be an ISO instant');
    }
    await useEnvironment(args);
    const options = {
      ...(chainedSince ? { chainedSince: new Date(chainedSince).toISOString() } : {}),
      onProgress: (progress: VerifyProgress) => io.progress(progressLine(progress)),
    };
    if (card) {
      const report = await verifyCard(card, options);
      io.out(JSON.stringify({ ok: !report.broken, ...report }, null, 2));
      return report.broken ? 1 : 0;
    }
    const verdict: LedgerVerdict = program
      ? await verifyProgram(program, options)
      : await verifyExport(exportId as string, options);
    io.out(JSON.stringify(verdict, null, 2));
    return verdict.ok ? 0 : 1;
  },
};
