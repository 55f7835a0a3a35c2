import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StaffRole } from '../../functions/http/route-table';
import { createTableInput } from '../../functions/store/table-definition';
import { dynamoDbClient } from '../../local/dynamodb';
import { handlerEnvironment } from '../../local/handler-env';
import { generateCodePepper } from '../../local/secrets';
import {
  createStaffIssuer,
  generateStaffSigningKey,
  type StaffIssuer,
  type StaffTokenOptions,
} from '../../local/staff-issuer';
import { testDynamoDbEndpoint } from './dynamodb';
import { resetHandlerState } from './reset';

export interface TestTable {
  readonly tableName: string;
  /** A low-level client on the run's DynamoDB Local, for assertions on raw items. */
  readonly client: DynamoDBClient;
  drop(): Promise<void>;
}

/**
 * A new table (from the one table definition, stream on) with a unique name on the run's DynamoDB
 * Local; sets TABLE_NAME and forgets the parsed config so the next handler call uses it.
 */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = dynamoDbClient(testDynamoDbEndpoint());
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  process.env.TABLE_NAME = tableName;
  resetHandlerState();
  return {
    tableName,
    client,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

export interface TestEnv {
  readonly codePepper: string;
  readonly issuer: StaffIssuer;
  mintStaffToken(role: StaffRole, options?: StaffTokenOptions): Promise<string>;
}

let issuerForRun: Promise<StaffIssuer> | undefined;

/** One signing key per test process: generated in memory, never written anywhere. */
function testIssuer(): Promise<StaffIssuer> {
  issuerForRun ??= generateStaffSigningKey().then((signingKey) =>
    createStaffIssuer({ signingKey, issuer: 'http://127.0.0.1/test-issuer', audience: 'giftcard-test' }),
  );
  return issuerForRun;
}

/**
 * The environment the handlers read (functions/config.ts), as the local runtime sets it: DynamoDB Local,
 * a fresh random CODE_PEPPER, the test staff issuer's JWKS, REGION_CODE 1, dummy AWS credentials.
 * TABLE_NAME comes from createTestTable (or `tableName`). Resets the handlers' cold-start state.
 */
export async function testEnv(options: { tableName?: string; logLevel?: string } = {}): Promise<TestEnv> {
  const issuer = await testIssuer();
  const codePepper = generateCodePepper();
  const variables = handlerEnvironment({
    tableName: options.tableName ?? process.env.TABLE_NAME ?? 'unset-call-createTestTable',
    dynamodbEndpoint: testDynamoDbEndpoint(),
    codePepper,
    issuer,
    logLevel: options.logLevel ?? process.env.LOG_LEVEL ?? 'ERROR',
  });
  Object.assign(process.env, variables);
  resetHandlerState();
  return { codePepper, issuer, mintStaffToken: (role, token) => issuer.mintStaffToken(role, token) };
}
