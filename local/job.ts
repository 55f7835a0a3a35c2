/**
 * `npm run job -- <name> [--dynamo-port 8000] [--data-dir .local]`: runs one scheduled job now against
 * the data of a running `npm start` (the same job its timers run), and prints the job's report.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SCHEDULED_JOBS } from '../functions/scheduled/registry';
import { applyHandlerEnvironment } from './handler-env';
import { importScheduledJob } from './scheduler';
import { loadOrCreateLocalSecrets } from './secrets';
import { LOCAL_TABLE_NAME } from './stack';
import { createStaffIssuer } from './staff-issuer';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'dynamo-port': { type: 'string', default: '8000' },
    'data-dir': { type: 'string', default: '.local' },
  },
});
const name = positionals[0];
const job = SCHEDULED_JOBS.find((candidate) => candidate.name === name);
if (!job) {
  console.error(
    `Usage: npm run job -- <name>\nJobs: ${SCHEDULED_JOBS.map((j) => `${j.name} (${j.description})`).join('\n      ')}`,
  );
  process.exit(1);
}
const dataDir = resolve(values['data-dir'] ?? '.local');
const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));
const issuer = await createStaffIssuer({ signingKey: secrets.staffSigningKey, issuer: 'local-job' });
applyHandlerEnvironment({
  tableName: LOCAL_TABLE_NAME,
  dynamodbEndpoint: `http://127.0.0.1:${values['dynamo-port']}`,
  codePepper: secrets.codePepper,
  issuer,
  logLevel: 'WARN',
});
try {
  const report = await (await importScheduledJob(job.module)).run();
  console.log(JSON.stringify({ job: job.name, ...report }));
} catch (error) {
  console.error(`${job.name} failed: ${(error as Error).message} (is \`npm start\` running?)`);
  process.exit(1);
}
