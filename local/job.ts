/**
 * `npm run job -- <name> [--dynamo-port 8000] [--data-dir .local]`: runs one scheduled job now against
 * the data of a running `npm start` (the same job its timers run), and prints the job's report.
 */
import { parseArgs } from 'node:util';
import { SCHEDULED_JOBS } from '../functions/scheduled/registry';
import { useLocalStackEnvironment } from './cli-environment';
import { importScheduledJob } from './scheduler';

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
await useLocalStackEnvironment({
  dataDir: values['data-dir'],
  dynamoPort: values['dynamo-port'],
  issuerName: 'local-job',
});
try {
  const report = await (await importScheduledJob(job.module)).run();
  console.log(JSON.stringify({ job: job.name, ...report }));
} catch (error) {
  console.error(`${job.name} failed: ${(error as Error).message} (is \`npm start\` running?)`);
  process.exit(1);
}
