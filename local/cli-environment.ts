import { join, resolve } from 'node:path';
import { applyHandlerEnvironment } from './handler-env';
import { loadOrCreateLocalSecrets } from './secrets';
import { LOCAL_TABLE_NAME } from './stack';
import { createStaffIssuer } from './staff-issuer';

/**
 * The handlers' environment for a command run beside `npm start` (`npm run job`, the backfills): its
 * table on its DynamoDB Local, its secrets under the data folder.
 */
export async function useLocalStackEnvironment(options: {
  readonly dataDir: string | undefined;
  readonly dynamoPort: string | undefined;
  readonly issuerName: string;
}): Promise<void> {
  const dataDir = resolve(options.dataDir ?? '.local');
  const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));
  const issuer = await createStaffIssuer({ signingKey: secrets.staffSigningKey, issuer: options.issuerName });
  applyHandlerEnvironment({
    tableName: LOCAL_TABLE_NAME,
    dynamodbEndpoint: `http://127.0.0.1:${options.dynamoPort ?? '8000'}`,
    codePepper: secrets.codePepper,
    issuer,
    logLevel: 'WARN',
  });
}
