/**
 * `npm run deploy -- --region <region> [--stage <stage>] [cdk options]` and `npm run diff -- ...`: the CDK
 * command for one region and stage, so nobody deploys every region (or the wrong stage) by a glob typo.
 * Options after the region and stage go to cdk as they are (e.g. `--profile prod`, `--require-approval never`).
 */
import { spawnSync } from 'node:child_process';
import { DEFAULT_STAGE, STAGE_PATTERN } from '../lib/config';

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

export class CdkRunError extends Error {}

export function cdkCommand(action: 'deploy' | 'diff', argv: readonly string[]): string[] {
  let region: string | undefined;
  let stage = DEFAULT_STAGE;
  const passThrough: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    if (token === '--region' || token === '--stage') {
      const value = argv[index + 1];
      if (value === undefined) throw new CdkRunError(`${token} needs a value`);
      if (token === '--region') region = value;
      else stage = value;
      index += 1;
    } else passThrough.push(token);
  }
  if (!region || !AWS_REGION.test(region)) {
    throw new CdkRunError(
      `usage: npm run ${action} -- --region <aws region> [--stage <stage>] [cdk options]`,
    );
  }
  if (!STAGE_PATTERN.test(stage)) throw new CdkRunError(`--stage "${stage}" is not a stage name`);
  const stacks = `GiftCard-*-${region}-${stage}`;
  // A deploy names its region to the app, which then refuses example settings (lib/config.ts).
  const safety =
    action === 'deploy' ? ['-c', `deployRegion=${region}`, '--require-approval', 'broadening'] : [];
  return ['cdk', action, '-c', `stage=${stage}`, stacks, ...safety, ...passThrough];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [action, ...rest] = process.argv.slice(2);
  try {
    if (action !== 'deploy' && action !== 'diff') throw new CdkRunError('usage: cdk-run.ts deploy|diff ...');
    const command = cdkCommand(action, rest);
    process.stderr.write(`npx ${command.join(' ')}\n`);
    const result = spawnSync('npx', command, { stdio: 'inherit' });
    process.exit(result.status ?? 1);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}
