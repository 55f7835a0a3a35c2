import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/function';
import type { RegionStacks } from '../../lib/giftcard-app';
import { RUNBOOKS, runbookPath } from '../../lib/monitoring/runbooks';
import { buildAllRegions, buildTestApp, CDK_JSON, functionBehind, refTarget, resourcesOf } from './build';

const stacksOf = (set: RegionStacks): Stack[] => [
  set.alarms,
  set.data,
  set.auth,
  set.exports,
  set.apiHandlers,
  set.api,
  set.streams,
  set.schedules,
  set.monitoring,
];

describe('operations per region', () => {
  let sets: RegionStacks[];
  beforeAll(() => {
    sets = buildAllRegions().sets;
  });

  it('sends every alarm of every region to its own region topic, on ALARM and on OK, with a runbook link', () => {
    expect(sets.length).toBe(CDK_JSON.context.regions.length);
    for (const set of sets) {
      const topicId = Object.keys(resourcesOf(Template.fromStack(set.alarms), 'AWS::SNS::Topic'))[0];
      let alarms = 0;
      for (const stack of stacksOf(set)) {
        for (const [id, alarm] of Object.entries(
          resourcesOf(Template.fromStack(stack), 'AWS::CloudWatch::Alarm'),
        )) {
          alarms += 1;
          for (const actions of [alarm.Properties.AlarmActions, alarm.Properties.OKActions]) {
            // The topic of this region's alarm stack, imported across stacks (or referenced in the same one).
            expect(JSON.stringify(actions), `${stack.stackName}/${id}`).toMatch(
              new RegExp(`${topicId}|GiftCard-Alarms-${set.config.region}-prod`),
            );
          }
          const description = String(alarm.Properties.AlarmDescription);
          const link = /Runbook: (docs\/runbooks\/[a-z0-9-]+\.md)$/.exec(description)?.[1];
          expect(link, `${stack.stackName}/${id}: ${description}`).toBeDefined();
          expect(fs.existsSync(path.join(PROJECT_ROOT, link ?? '')), link).toBe(true);
          expect(String(alarm.Properties.AlarmName)).toMatch(/^giftcard-prod-[a-z0-9-]+$/);
        }
      }
      expect(alarms).toBeGreaterThan(50);
    }
  });

  it('has a runbook page for every runbook an alarm can name', () => {
    for (const id of Object.keys(RUNBOOKS) as (keyof typeof RUNBOOKS)[]) {
      expect(fs.existsSync(path.join(PROJECT_ROOT, runbookPath(id))), id).toBe(true);
    }
  });

  it('alarms on what a payments service needs: per route group, per function, per consumer, table, WAF, export', () => {
    const set = sets[0] as RegionStacks;
    const names = stacksOf(set).flatMap((stack) =>
      Object.values(resourcesOf(Template.fromStack(stack), 'AWS::CloudWatch::Alarm')).map((alarm) =>
        String(alarm.Properties.AlarmName),
      ),
    );
    for (const expected of [
      'giftcard-prod-api-cards-5xx-rate',
      'giftcard-prod-api-cards-p99-latency',
      'giftcard-prod-api-stage-5xx-rate',
      'giftcard-prod-api-stage-p99-latency',
      'giftcard-prod-api-cards-errors',
      'giftcard-prod-api-cards-throttles',
      'giftcard-prod-stream-fraud-lag',
      'giftcard-prod-stream-fraud-dlq',
      'giftcard-prod-dynamodb-throttles',
      'giftcard-prod-dynamodb-system-errors',
      'giftcard-prod-waf-blocked-spike',
      'giftcard-prod-export-overdue',
    ]) {
      expect(names).toContain(expected);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('has one dashboard per region, named with stage and region', () => {
    for (const set of sets) {
      const dashboards = Object.values(
        resourcesOf(Template.fromStack(set.monitoring), 'AWS::CloudWatch::Dashboard'),
      );
      expect(dashboards).toHaveLength(1);
      expect(dashboards[0]?.Properties.DashboardName).toBe(`GiftCard-prod-${set.config.region}`);
      const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
      for (const shown of [
        'Redemptions',
        'Declines',
        'IteratorAge',
        'ApproximateNumberOfMessagesVisible',
        'ConsumedWriteCapacityUnits',
        'FinanceExportSucceeded',
        'ApiLatency',
      ]) {
        expect(body, shown).toContain(shown);
      }
    }
  });

  it('traces every function, which everything invokes through its live alias with a CodeDeploy deployment group', () => {
    for (const set of sets) {
      for (const stack of stacksOf(set)) {
        const t = Template.fromStack(stack);
        const functions = resourcesOf(t, 'AWS::Lambda::Function');
        const aliases = Object.entries(resourcesOf(t, 'AWS::Lambda::Alias'));
        const groups = Object.values(resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup'));
        for (const [id, fn] of Object.entries(functions)) {
          expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
          const alias = aliases.find(
            ([, candidate]) => refTarget(candidate.Properties.FunctionName) === id,
          )?.[1];
          if (!alias) throw new Error(`${stack.stackName}/${id} has no alias`);
          expect(alias.Properties.Name, id).toBe('live');
          // The alias is deployed by CodeDeploy (its update policy names the group), rolled back on alarms.
          const update = (
            alias as { UpdatePolicy?: { CodeDeployLambdaAliasUpdate?: { DeploymentGroupName?: unknown } } }
          ).UpdatePolicy?.CodeDeployLambdaAliasUpdate;
          expect(update, id).toBeDefined();
          const groupId = refTarget(update?.DeploymentGroupName);
          const group = resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup')[groupId ?? ''];
          expect(group?.Properties.AutoRollbackConfiguration, id).toMatchObject({ Enabled: true });
          expect(
            (group?.Properties.AlarmConfiguration as { Alarms?: unknown[] })?.Alarms?.length,
            id,
          ).toBeGreaterThan(0);
          const service = String(
            (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
              .POWERTOOLS_SERVICE_NAME,
          );
          const canary = service.startsWith('giftcard-api-') || service.startsWith('giftcard-stream-');
          expect(JSON.stringify(group?.Properties.DeploymentConfigName), id).toContain(
            canary ? 'Canary10Percent5Minutes' : 'AllAtOnce',
          );
        }
        expect(groups.length).toBe(Object.keys(functions).length);
      }
    }
  });

  it('invokes stream consumers through their alias', () => {
    const t = Template.fromStack((sets[0] as RegionStacks).streams);
    const aliases = resourcesOf(t, 'AWS::Lambda::Alias');
    for (const mapping of Object.values(resourcesOf(t, 'AWS::Lambda::EventSourceMapping'))) {
      expect(JSON.stringify(mapping.Properties.FunctionName)).toContain(':live');
      expect(
        Object.keys(aliases).some((id) => JSON.stringify(mapping.Properties.FunctionName).includes(id)),
      ).toBe(true);
      expect(functionBehind(t, mapping.Properties.FunctionName)).toBeDefined();
    }
  });
});

/** Every name CloudFormation must find free in the account and region (or account-wide, for dashboards). */
function physicalNames(set: RegionStacks): string[] {
  const names: string[] = stacksOf(set).map((stack) => stack.stackName);
  const keys = [
    'AlarmName',
    'DashboardName',
    'BucketName',
    'AliasName',
    'Name',
    'UsagePlanName',
    'Value',
    'TopicName',
    'ConfigurationName',
  ];
  for (const stack of stacksOf(set)) {
    const template = Template.fromStack(stack).toJSON() as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    for (const resource of Object.values(template.Resources)) {
      for (const key of keys) {
        const value = resource.Properties?.[key];
        if (typeof value === 'string') names.push(`${resource.Type} ${value}`);
        else if (value && typeof value === 'object') names.push(`${resource.Type} ${JSON.stringify(value)}`);
      }
      if (resource.Type === 'AWS::ApiGateway::RestApi')
        names.push(`RestApi ${String(resource.Properties?.Name)}`);
    }
  }
  return names;
}

describe('stages', () => {
  it('lets two stages share an account and region: no name of one is a name of the other', () => {
    const account = '123456789012';
    const region = CDK_JSON.context.regions[0];
    const build = (stage: string) =>
      buildTestApp({ nag: false, regions: [{ ...region, account }], stage }).sets[0] as RegionStacks;
    const prod = physicalNames(build('prod'));
    const staging = physicalNames(build('staging'));
    // Names that carry no stage are not physical names (KMS alias targets, parameter values), so compare all.
    const shared = prod.filter(
      (name) =>
        staging.includes(name) && !/^AWS::(IAM|Lambda::Alias|ApiGateway::(Stage|Resource|Method))/.test(name),
    );
    expect(shared.filter((name) => /prod|staging|giftcard|GiftCard/i.test(name))).toEqual([]);
    expect(prod.some((name) => name.includes('giftcard-exports-prod-123456789012'))).toBe(true);
    expect(staging.some((name) => name.includes('giftcard-exports-staging-123456789012'))).toBe(true);
    expect(staging).toContain('AWS::KMS::Alias alias/giftcard/staging/data');
  });

  it('takes the stage from the context and refuses an unknown one', () => {
    expect(() => buildTestApp({ nag: false, stage: 'prdo' })).toThrow(/Unknown stage "prdo"/);
  });
});
