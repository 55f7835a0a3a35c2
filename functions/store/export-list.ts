import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { exportIdOf, monthPeriod } from '../core/export-period';
import { db, tableName } from './dynamo-client';
import type { ExportRun } from './export-runs';
import { exportKey, withoutLayout } from './keys';
import { batchGet } from './listing';

/**
 * The finance exports list (console Finance page). A run's id derives from region and cutoff, so the
 * monthly runs of the last months are found without an index: their ids are computed and read in one
 * BatchGet. Runs asked for through the API (any cutoff) also get a pointer item when requested:
 *
 *   EXPORTLIST / <cutoff>#<exportId>   (no TTL; one per requested cutoff, written once)
 *
 * Cost: one BatchGet of MONTHS_LISTED items plus one Query of at most LISTED pointers per page view.
 */
export const MONTHS_LISTED = 12;
const LISTED = 50;

export async function rememberRequestedExport(exportId: string, cutoff: string): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: 'EXPORTLIST', SK: `${cutoff}#${exportId}`, exportId, cutoff },
    }),
  );
}

const monthsBefore = (now: Date, count: number): string[] =>
  Array.from({ length: count }, (_, index) => {
    const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - index - 1, 1));
    return date.toISOString().slice(0, 7);
  });

export async function recentExportRuns(region: string, timeZone: string, now: Date): Promise<ExportRun[]> {
  const pointers = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': 'EXPORTLIST' },
      ScanIndexForward: false,
      Limit: LISTED,
    }),
  );
  const ids = new Set<string>([
    ...monthsBefore(now, MONTHS_LISTED).map((month) =>
      exportIdOf(region, monthPeriod(month, timeZone).cutoff),
    ),
    ...(pointers.Items ?? []).map((item) => String(item.exportId)),
  ]);
  const found = await batchGet([...ids].map((id) => exportKey(id)));
  return [...found.values()]
    .map((item) => withoutLayout<ExportRun>(item))
    .sort((a, b) => (a.cutoff < b.cutoff ? 1 : a.cutoff > b.cutoff ? -1 : 0));
}
