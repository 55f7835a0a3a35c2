import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerEntry } from '../core/ledger';
import type { AuditedCard } from '../core/ledger-audit';
import { withoutLayout } from './keys';

const CARD_PREFIX = 'CARD#';
const ENTRY_PREFIX = 'TX#';

export interface LedgerScanOptions {
  /** Items one Scan call evaluates (default 1,000). */
  readonly pageItems?: number;
  /** Called after each page with the items read so far (progress). */
  readonly onPage?: (itemsRead: number) => void;
}

/**
 * Reads a whole table card by card: each card item (`CARD#<id>` / `CARD`) with its ledger entries
 * (`TX#<seq>`), handed to `visit` once the scan has left the card's partition (a Scan returns a partition's
 * items together, in sort key order). Strongly consistent, one page at a time: memory holds one card. For
 * the ops tools (restore drill), which read tables the functions never scan.
 */
export async function scanLedger(
  doc: DynamoDBDocumentClient,
  tableName: string,
  visit: (card: AuditedCard | undefined, entries: LedgerEntry[]) => void,
  options: LedgerScanOptions = {},
): Promise<void> {
  let current: { pk: string; card: AuditedCard | undefined; entries: LedgerEntry[] } | undefined;
  const flush = () => {
    if (current && (current.card || current.entries.length > 0)) visit(current.card, current.entries);
  };
  let startKey: Record<string, unknown> | undefined;
  let itemsRead = 0;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        Limit: options.pageItems ?? 1_000,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = String(item.PK);
      const sk = String(item.SK);
      if (!pk.startsWith(CARD_PREFIX)) continue;
      if (current?.pk !== pk) {
        flush();
        current = { pk, card: undefined, entries: [] };
      }
      if (sk === 'CARD') current.card = withoutLayout<AuditedCard>(item);
      else if (sk.startsWith(ENTRY_PREFIX)) current.entries.push(withoutLayout<LedgerEntry>(item));
    }
    itemsRead += page.Items?.length ?? 0;
    options.onPage?.(itemsRead);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  flush();
}
