import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportIdOf } from '../../functions/core/export-period';
import { cutoffDue, run } from '../../functions/scheduled/export-deadline';
import { exportKey } from '../../functions/store/keys';
import { createTestTable, type TestTable, testEnv } from '../support/table';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('export-deadline');
  await testEnv();
  process.env.REPORTING_TIME_ZONE = 'Europe/Dublin';
});
afterAll(async () => table.drop());

describe('export-deadline job', () => {
  it("checks the month whose deadline has passed: last month's from 06:00 on the 1st, the one before until then", () => {
    // Dublin is on UTC in winter: the month ends at 00:00Z.
    expect(cutoffDue(new Date('2026-12-01T05:59:00Z'), 'Europe/Dublin').toISOString()).toBe(
      '2026-11-01T00:00:00.000Z',
    );
    expect(cutoffDue(new Date('2026-12-01T06:00:00Z'), 'Europe/Dublin').toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    );
    expect(cutoffDue(new Date('2026-12-20T12:00:00Z'), 'Europe/Dublin').toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    );
  });

  it('reports the run overdue until it SUCCEEDED, then not', async () => {
    const now = new Date('2026-12-01T07:00:00Z');
    const exportId = exportIdOf(process.env.AWS_REGION ?? 'us-east-1', '2026-12-01T00:00:00.000Z');
    expect(await run(now)).toMatchObject({ exportId, status: 'MISSING', overdue: true });

    const doc = DynamoDBDocumentClient.from(table.client);
    const put = (status: string) =>
      doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...exportKey(exportId), id: exportId, status },
        }),
      );
    await put('RUNNING');
    expect(await run(now)).toMatchObject({ status: 'RUNNING', overdue: true });
    await put('SUCCEEDED');
    expect(await run(now)).toMatchObject({ status: 'SUCCEEDED', overdue: false });
  });
});
