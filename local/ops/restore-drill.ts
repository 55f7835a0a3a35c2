import {
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  RestoreTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EXPORT_SETTLE_MARGIN_MS } from '../../functions/core/export-period';
import { LedgerAudit, type LedgerAuditResult, liabilityDifferences } from '../../functions/core/ledger-audit';
import { scanLedger } from '../../functions/store/ledger-scan';
import { integerOption, type OpsCommand, option, UsageError } from './command';
import { cloudFormation, stackOutputs, targetOf, targetStack } from './target';

export interface RestoreDrillDeps {
  /** Table administration: restore, describe, delete (AWS; mocked in tests). */
  readonly control: DynamoDBClient;
  /** Item reads of the live table and the copy. */
  readonly data: DynamoDBDocumentClient;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly progress?: (text: string) => void;
}

export interface RestoreDrillOptions {
  readonly liveTable: string;
  /** The point in time to restore; default the latest restorable time PITR reports. */
  readonly at?: Date;
  /** Default `<live>-drill-<yyyymmddhhmm>`. */
  readonly copyTable?: string;
  /** Keep the copy (for a look at it); default delete it. */
  readonly keep?: boolean;
  /** Bound on waiting for the restore (large tables take hours). */
  readonly maxWaitMinutes?: number;
  readonly pollSeconds?: number;
}

export interface RestoreDrillReport {
  readonly liveTable: string;
  readonly copyTable: string;
  readonly restoredTo: string;
  /** Both sides are compared as of this instant: the restore point minus the export settle margin. */
  readonly asOf: string;
  readonly copy: LedgerAuditResult;
  readonly live: LedgerAuditResult;
  readonly liabilityDifferences: { currency: string; copy: number; live: number }[];
  readonly restoreMinutes: number;
  readonly copyDeleted: boolean;
  /** True when the copy's ledger is sound and its liability equals the live table's as of `asOf`. */
  readonly ok: boolean;
}

const drillName = (live: string, at: Date) =>
  `${live}-drill-${at.toISOString().replace(/[-:T]/g, '').slice(0, 12)}`.slice(0, 255);

/**
 * The restore drill. Primary course: restore the table to a point in time under a new name (same KMS key,
 * on demand), wait until it is ACTIVE, check its ledger card by card (functions/core/ledger-audit.ts),
 * compute the liability per currency from the copy and from the live table as of the same instant, report,
 * and delete the copy.
 *
 * Why "as of the restore point minus the settle margin": an entry is dated before its transaction commits,
 * by at most EXPORT_SETTLE_MARGIN_MS; every entry dated before that instant is in the copy, and entries
 * written since cannot change a balance dated before it. Both sides must then agree to the minor unit.
 */
export async function runRestoreDrill(
  deps: RestoreDrillDeps,
  options: RestoreDrillOptions,
): Promise<RestoreDrillReport> {
  const progress = deps.progress ?? (() => undefined);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const live = await deps.control.send(new DescribeTableCommand({ TableName: options.liveTable }));
  const keyArn = live.Table?.SSEDescription?.KMSMasterKeyArn;
  const at = options.at ?? (await latestRestorable(deps.control, options.liveTable));
  const copyTable = options.copyTable ?? drillName(options.liveTable, at);
  const asOf = new Date(at.getTime() - EXPORT_SETTLE_MARGIN_MS).toISOString();

  progress(`restoring ${options.liveTable} as of ${at.toISOString()} into ${copyTable}`);
  const started = Date.now();
  await deps.control.send(
    new RestoreTableToPointInTimeCommand({
      SourceTableName: options.liveTable,
      TargetTableName: copyTable,
      RestoreDateTime: at,
      BillingModeOverride: 'PAY_PER_REQUEST',
      ...(keyArn
        ? { SSESpecificationOverride: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn } }
        : {}),
    }),
  );
  let copyDeleted = false;
  try {
    await waitActive(deps.control, copyTable, options, sleep, progress);
    const restoreMinutes = Math.round((Date.now() - started) / 600) / 100;
    progress(`checking the copy's ledger (as of ${asOf})`);
    const copy = await audit(deps.data, copyTable, asOf, progress);
    progress(`computing the live table's liability as of ${asOf}`);
    const liveAudit = await audit(deps.data, options.liveTable, asOf, progress);
    const differences = liabilityDifferences(copy.liabilityAsOf, liveAudit.liabilityAsOf).map((line) => ({
      currency: line.currency,
      copy: line.left,
      live: line.right,
    }));
    if (!options.keep) {
      await deps.control.send(new DeleteTableCommand({ TableName: copyTable }));
      copyDeleted = true;
    }
    return {
      liveTable: options.liveTable,
      copyTable,
      restoredTo: at.toISOString(),
      asOf,
      copy,
      live: liveAudit,
      liabilityDifferences: differences,
      restoreMinutes,
      copyDeleted,
      ok: copy.problemCards === 0 && differences.length === 0,
    };
  } finally {
    // A failed drill must not leave a copy of the ledger behind (unless asked to keep it).
    if (!copyDeleted && !options.keep) {
      await deps.control.send(new DeleteTableCommand({ TableName: copyTable })).catch((error: unknown) => {
        progress(`could not delete ${copyTable}: ${(error as Error).message}; delete it by hand`);
      });
    }
  }
}

async function latestRestorable(control: DynamoDBClient, table: string): Promise<Date> {
  const out = await control.send(new DescribeContinuousBackupsCommand({ TableName: table }));
  const pitr = out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
  if (pitr?.PointInTimeRecoveryStatus !== 'ENABLED' || !pitr.LatestRestorableDateTime) {
    throw new Error(`${table} has no point-in-time recovery enabled`);
  }
  return pitr.LatestRestorableDateTime;
}

async function waitActive(
  control: DynamoDBClient,
  table: string,
  options: RestoreDrillOptions,
  sleep: (ms: number) => Promise<void>,
  progress: (text: string) => void,
): Promise<void> {
  const pollMs = (options.pollSeconds ?? 30) * 1000;
  const attempts = Math.max(1, Math.ceil(((options.maxWaitMinutes ?? 360) * 60_000) / pollMs));
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const out = await control.send(new DescribeTableCommand({ TableName: table }));
    const status = out.Table?.TableStatus;
    if (status === 'ACTIVE') return;
    progress(`  ${table}: ${status ?? 'not visible yet'} (${attempt}/${attempts})`);
    await sleep(pollMs);
  }
  throw new Error(`${table} was not ACTIVE after ${options.maxWaitMinutes ?? 360} minutes`);
}

async function audit(
  data: DynamoDBDocumentClient,
  table: string,
  asOf: string,
  progress: (text: string) => void,
): Promise<LedgerAuditResult> {
  const ledger = new LedgerAudit(asOf);
  await scanLedger(data, table, (card, entries) => ledger.addCard(card, entries), {
    onPage: (items) => progress(`  ${table}: ${items} items read`),
  });
  return ledger.result();
}

export const restoreDrill: OpsCommand = {
  name: 'restore-drill',
  summary:
    'Restores the table to a point in time under a new name, checks its ledger, compares liability with the live table, deletes the copy.',
  usage: [
    '--region <aws region>      the deployment (or AWS_REGION)',
    '--stage <stage>            default prod',
    '--table <name>             the live table (default: TableName output of GiftCard-Data-<region>-<stage>)',
    '--at <ISO 8601 instant>    the point in time (default: the latest restorable, about 5 minutes ago)',
    '--keep                     keep the restored copy (delete it yourself afterwards)',
    '--max-wait-minutes <n>     how long to wait for the restore (default 360)',
  ].join('\n'),
  run: async (args, io) => {
    const target = targetOf(args);
    const atText = option(args, 'at');
    const at = atText === undefined ? undefined : new Date(atText);
    if (at && Number.isNaN(at.getTime())) throw new UsageError('--at must be an ISO 8601 instant');
    const liveTable =
      option(args, 'table') ??
      (await stackOutputs(cloudFormation(target), targetStack(target, 'Data'))).get('TableName');
    if (!liveTable) throw new Error(`no TableName output on ${targetStack(target, 'Data')}`);
    const control = new DynamoDBClient({ region: target.region });
    const data = DynamoDBDocumentClient.from(control);
    const report = await runRestoreDrill(
      { control, data, progress: io.progress },
      {
        liveTable,
        ...(at ? { at } : {}),
        keep: args.get('keep') === true,
        maxWaitMinutes: integerOption(args, 'max-wait-minutes', 360, 1, 24 * 60),
      },
    );
    io.out(JSON.stringify(report, null, 2));
    io.progress(report.ok ? 'restore drill: OK' : 'restore drill: PROBLEMS FOUND (see the report)');
    return report.ok ? 0 : 1;
  },
};
