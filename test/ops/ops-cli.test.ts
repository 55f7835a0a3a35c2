import { describe, expect, it } from 'vitest';
import { cdkCommand } from '../../local/cdk-run';
import { runOps } from '../../local/ops';
import { parseOpsArgs } from '../../local/ops/command';
import { OPS_COMMANDS } from '../../local/ops/registry';

function capture() {
  const out: string[] = [];
  const progress: string[] = [];
  return {
    io: { out: (text: string) => out.push(text), progress: (text: string) => progress.push(text) },
    out,
    progress,
  };
}

describe('npm run ops', () => {
  it('lists every registered command, one module each', async () => {
    const { io, out } = capture();
    expect(await runOps(['help'], io)).toBe(0);
    for (const command of OPS_COMMANDS) expect(out.join('')).toContain(command.name);
    expect(OPS_COMMANDS.map((command) => command.name)).toEqual([
      'create-staff',
      'restore-drill',
      'replay-dlq',
      'verify-ledger',
      'loyalty',
      'production',
    ]);
  });

  it('refuses an unknown command and a bad option with the usage, exit code 2', async () => {
    const unknown = capture();
    expect(await runOps(['restore'], unknown.io)).toBe(2);
    expect(unknown.progress.join('')).toContain('unknown command "restore"');
    const bad = capture();
    expect(await runOps(['replay-dlq', '--consumer', 'nope', '--region', 'us-east-1'], bad.io)).toBe(2);
    expect(bad.progress.join('')).toContain('unknown consumer "nope"');
  });

  it('parses --name value, --name=value and flags', () => {
    expect([...parseOpsArgs(['--region', 'eu-west-1', '--stage=staging', '--keep'])]).toEqual([
      ['region', 'eu-west-1'],
      ['stage', 'staging'],
      ['keep', true],
    ]);
  });
});

describe('npm run deploy / diff', () => {
  it('deploys exactly one region and stage, named to the app (its settings must be real), asking before broadening permissions', () => {
    expect(cdkCommand('deploy', ['--region', 'eu-west-1', '--stage', 'staging', '--profile', 'ops'])).toEqual(
      [
        'cdk',
        'deploy',
        '-c',
        'stage=staging',
        'GiftCard-*-eu-west-1-staging',
        '-c',
        'deployRegion=eu-west-1',
        '--require-approval',
        'broadening',
        '--profile',
        'ops',
      ],
    );
    expect(cdkCommand('diff', ['--region', 'us-east-1'])).toEqual([
      'cdk',
      'diff',
      '-c',
      'stage=prod',
      'GiftCard-*-us-east-1-prod',
    ]);
  });

  it('refuses a missing region and a malformed stage', () => {
    expect(() => cdkCommand('deploy', [])).toThrow(/--region/);
    expect(() => cdkCommand('deploy', ['--region', 'eu-west-1', '--stage', 'Prod!'])).toThrow(
      /not a stage name/,
    );
  });
});
