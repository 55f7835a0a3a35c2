import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  RestoreTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_SETTLE_MARGIN_MS } from '../../functions/core/export-period';
import { cardKey, entryKey } from '../../functions/store/keys';
import { createTableInput } from '../../functions/store/table-definition';
import { dynamoDbClient } from '../../local/dynamodb';
import { runRestoreDrill } from '../../local/ops/restore-drill';
import { testDynamoDbEndpoint } from '../support/dynamodb';
import { createTestTable, type TestTable } from '../support/table';

/**
 * The drill's checks run for real on DynamoDB Local; what only AWS does (point-in-time restore, the
 * copy's status, deleting it) is mocked: the mocked restore writes the snapshot the test took at the
 * restore point into a new DynamoDB Local table, as PITR would give it.
 */
let live: TestTable;
let data: DynamoDBDocumentClient;
let admin: DynamoDBClient;
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/data';

beforeAll(async () => {
  live = await createTestTable('drill-live');
  admin = dynamoDbClient(testDynamoDbEndpoint());
  data = DynamoDBDocumentClient.from(dynamoDbClient(testDynamoDbEndpoint()));
});
afterAll(async () => {
  await live.drop();
  admin.destroy();
  data.destroy();
});

const iso = (ms: number) => new Date(ms).toISOString();

/** A card and its ledger as the store writes them: each entry's balance follows from the previous one. */
async function writeCard(id: string, currency: string, amounts: readonly number[], startMs: number) {
  let balance = 0;
  for (const [index, amount] of amounts.entries()) {
    balance += amount;
    await putEntry(id, currency, index + 1, amount, balance, iso(startMs + index * 1000));
  }
  await data.send(
    new PutCommand({
      TableName: live.tableName,
      Item: {
        ...cardKey(id),
        id,
        currency,
        balance,
        available: balance,
        seq: amounts.length,
        status: 'ACTIVE',
      },
    }),
  );
}

async function putEntry(
  id: string,
  currency: string,
  seq: number,
  amount: number,
  balance: number,
  at: string,
) {
  await data.send(
    new PutCommand({
      TableName: live.tableName,
      Item: {
        ...entryKey(id, seq),
        id: `tx_${id}_${seq}`,
        cardId: id,
        seq,
        type: seq === 1 ? 'ISSUE' : amount < 0 ? 'REDEEM' : 'LOAD',
        amount,
        balanceAfter: balance,
        availableAfter: balance,
        currency,
        createdAt: at,
      },
    }),
  );
}

async function snapshot(): Promise<Record<string, unknown>[]> {
  const out = await data.send(new ScanCommand({ TableName: live.tableName, ConsistentRead: true }));
  return out.Items ?? [];
}

/** A control-plane client whose restore writes `items` into a new local table, as PITR would. */
function mockedControl(items: () => Record<string, unknown>[], status: () => string = () => 'ACTIVE') {
  const control = dynamoDbClient(testDynamoDbEndpoint());
  const mock = mockClient(control);
  mock
    .on(DescribeTableCommand)
    .callsFake(async (input) =>
      input.TableName === live.tableName
        ? { Table: { TableName: live.tableName, SSEDescription: { KMSMasterKeyArn: KEY_ARN } } }
        : { Table: { TableStatus: status() } },
    );
  mock.on(RestoreTableToPointInTimeCommand).callsFake(async (input) => {
    await admin.send(new CreateTableCommand(createTableInput(input.TargetTableName)));
    for (const item of items())
      await data.send(new PutCommand({ TableName: input.TargetTableName, Item: item }));
    return {};
  });
  mock.on(DeleteTableCommand).callsFake(async (input) => admin.send(new DeleteTableCommand(input)));
  return { control, mock };
}

const tableExists = async (name: string) => {
  try {
    await admin.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch {
    return false;
  }
};

describe('npm run ops -- restore-drill', () => {
  const startMs = Date.now() - 3_600_000;
  const restorePoint = new Date(startMs + 600_000);
  let copyAtRestorePoint: Record<string, unknown>[] = [];

  beforeAll(async () => {
    await writeCard('gc_drill_usd', 'USD', [5000, -1200, -300], startMs);
    await writeCard('gc_drill_eur', 'EUR', [2500, 500], startMs);
    copyAtRestorePoint = await snapshot();
    // Activity after the restore point: the live table moves on, its liability as of then does not.
    await putEntry('gc_drill_usd', 'USD', 4, -1000, 2500, iso(restorePoint.getTime() + 60_000));
    await data.send(
      new PutCommand({
        TableName: live.tableName,
        Item: { ...cardKey('gc_drill_usd'), id: 'gc_drill_usd', currency: 'USD', balance: 2500, seq: 4 },
      }),
    );
  });

  it('restores under a new name with the table key, finds the ledger sound, agrees with the live liability, deletes the copy', async () => {
    const { control, mock } = mockedControl(() => copyAtRestorePoint);
    const report = await runRestoreDrill(
      { control, data, sleep: async () => undefined },
      { liveTable: live.tableName, at: restorePoint, copyTable: `${live.tableName}-copy-ok` },
    );
    expect(report.ok).toBe(true);
    expect(report.asOf).toBe(iso(restorePoint.getTime() - EXPORT_SETTLE_MARGIN_MS));
    expect(report.copy).toMatchObject({ cards: 2, entries: 5, problemCards: 0 });
    expect(report.copy.liabilityAsOf).toEqual({ EUR: 3000, USD: 3500 });
    expect(report.live.liabilityAsOf).toEqual({ EUR: 3000, USD: 3500 });
    expect(report.liabilityDifferences).toEqual([]);
    expect(report.copyDeleted).toBe(true);
    expect(await tableExists(`${live.tableName}-copy-ok`)).toBe(false);
    const restore = mock.commandCalls(RestoreTableToPointInTimeCommand)[0]?.args[0].input;
    expect(restore).toMatchObject({
      SourceTableName: live.tableName,
      TargetTableName: `${live.tableName}-copy-ok`,
      RestoreDateTime: restorePoint,
      SSESpecificationOverride: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: KEY_ARN },
    });
  });

  it('reports a copy whose ledger does not add up, and the liability it disagrees on', async () => {
    const tampered = () =>
      copyAtRestorePoint.map((item) =>
        item.PK === entryKey('gc_drill_eur', 2).PK && item.SK === entryKey('gc_drill_eur', 2).SK
          ? { ...item, balanceAfter: 9000 }
          : item,
      );
    const { control } = mockedControl(tampered);
    const report = await runRestoreDrill(
      { control, data, sleep: async () => undefined },
      { liveTable: live.tableName, at: restorePoint, copyTable: `${live.tableName}-copy-bad` },
    );
    expect(report.ok).toBe(false);
    expect(report.copy.problemCards).toBe(1);
    expect(report.copy.problems).toEqual([
      {
        cardId: 'gc_drill_eur',
        problems: ['entry 2: balance 2500 + 500 != 9000', 'card balance 3000 != last entry balance 9000'],
      },
    ]);
    expect(report.liabilityDifferences).toEqual([{ currency: 'EUR', copy: 9000, live: 3000 }]);
    expect(await tableExists(`${live.tableName}-copy-bad`)).toBe(false);
  });

  it('uses the latest restorable time by default and deletes the copy when the restore never finishes', async () => {
    const { control, mock } = mockedControl(
      () => copyAtRestorePoint,
      () => 'CREATING',
    );
    mock.on(DescribeContinuousBackupsCommand).resolves({
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: 'ENABLED',
        PointInTimeRecoveryDescription: {
          PointInTimeRecoveryStatus: 'ENABLED',
          LatestRestorableDateTime: restorePoint,
        },
      },
    });
    await expect(
      runRestoreDrill(
        { control, data, sleep: async () => undefined },
        {
          liveTable: live.tableName,
          copyTable: `${live.tableName}-copy-slow`,
          maxWaitMinutes: 2,
          pollSeconds: 30,
        },
      ),
    ).rejects.toThrow(/not ACTIVE after 2 minutes/);
    expect(mock.commandCalls(RestoreTableToPointInTimeCommand)[0]?.args[0].input.RestoreDateTime).toEqual(
      restorePoint,
    );
    expect(mock.commandCalls(DeleteTableCommand)).toHaveLength(1);
    expect(await tableExists(`${live.tableName}-copy-slow`)).toBe(false);
  });
});
