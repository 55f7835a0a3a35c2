import { type App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULED_JOBS, type ScheduledJobDefinition } from '../../functions/scheduled/registry';
import {
  JOB_MAX_EVENT_AGE,
  JOB_RETRY_ATTEMPTS,
  SchedulesStack,
  scheduleExpressionOf,
} from '../../lib/schedules-stack';
import {
  actionsOf,
  buildAllRegions,
  buildFirstRegion,
  buildTestApp,
  type CfnResource,
  envOf,
  FIRST_REGION,
  functionBehind,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

const US = { region: 'us-east-1', regionCode: '1', defaultCurrency: 'USD', timeZone: 'America/New_York' };

/** The Scheduler expression the registry's `every` should give. */
const expectedExpression = (job: ScheduledJobDefinition): string =>
  'minutes' in job.every
    ? `rate(${job.every.minutes} ${job.every.minutes === 1 ? 'minute' : 'minutes'})`
    : `cron(${job.every.cron})`;

interface ScheduleTarget {
  Arn: unknown;
  RoleArn: unknown;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn: unknown };
  Input?: unknown;
}

describe('schedules stack', () => {
  let t: Template;
  const timeZone = (FIRST_REGION as { timeZone?: string }).timeZone;

  beforeAll(() => {
    t = template(buildFirstRegion().schedules);
  });

  const functionIdOf = (name: string): string => {
    const matches = Object.entries(resourcesOf(t, 'AWS::Lambda::Function')).filter(
      ([, fn]) => envOf(fn).POWERTOOLS_SERVICE_NAME === `giftcard-job-${name}`,
    );
    expect(matches).toHaveLength(1);
    return matches[0]?.[0] as string;
  };

  const scheduleOf = (name: string): { id: string; schedule: CfnResource; target: ScheduleTarget } => {
    const fnId = functionIdOf(name);
    const matches = Object.entries(resourcesOf(t, 'AWS::Scheduler::Schedule')).filter(
      ([, schedule]) => functionBehind(t, (schedule.Properties.Target as ScheduleTarget).Arn) === fnId,
    );
    expect(matches).toHaveLength(1);
    const [id, schedule] = matches[0] as [string, CfnResource];
    return { id, schedule, target: schedule.Properties.Target as ScheduleTarget };
  };

  const jobs = SCHEDULED_JOBS.map((job) => [job.name, job] as const);

  it('has one function and one schedule per registry job, all in the stack schedule group', () => {
    expect(SCHEDULED_JOBS.length).toBeGreaterThan(0);
    t.resourceCountIs('AWS::Lambda::Function', SCHEDULED_JOBS.length);
    t.resourceCountIs('AWS::Scheduler::Schedule', SCHEDULED_JOBS.length);
    const groups = resourcesOf(t, 'AWS::Scheduler::ScheduleGroup');
    expect(Object.keys(groups)).toHaveLength(1);
    const groupName = Object.values(groups)[0]?.Properties.Name;
    for (const schedule of Object.values(resourcesOf(t, 'AWS::Scheduler::Schedule'))) {
      expect(schedule.Properties.GroupName).toEqual(groupName);
    }
  });

  it.each(jobs)('%s: a Node.js 22 arm64 function of the job module, five minutes, traced', (name, job) => {
    const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionIdOf(name)];
    expect(fn?.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
      Description: job.description.slice(0, 256),
    });
    expect(envOf(fn).TABLE_NAME).toBeDefined();
  });

  it.each(jobs)(
    '%s: runs on the registry schedule, in the region time zone for crons, on time',
    (name, job) => {
      const { schedule } = scheduleOf(name);
      expect(schedule.Properties).toMatchObject({
        ScheduleExpression: expectedExpression(job),
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      });
      if ('cron' in job.every) expect(schedule.Properties.ScheduleExpressionTimezone).toBe(timeZone);
    },
  );

  it.each(jobs)('%s: bounded retries and event age, undeliverable runs to its own DLQ', (name) => {
    const { target } = scheduleOf(name);
    expect(target.RetryPolicy).toEqual({
      MaximumRetryAttempts: JOB_RETRY_ATTEMPTS,
      MaximumEventAgeInSeconds: JOB_MAX_EVENT_AGE.toSeconds(),
    });
    expect(JOB_RETRY_ATTEMPTS).toBeGreaterThan(0);
    expect(JOB_RETRY_ATTEMPTS).toBeLessThanOrEqual(3);
    const queueId = refTarget(target.DeadLetterConfig?.Arn);
    expect(queueId && resourcesOf(t, 'AWS::SQS::Queue')[queueId]).toBeTruthy();
  });

  it.each(jobs)('%s: failed runs (after bounded Lambda async retries) go to the same DLQ', (name) => {
    const fnId = functionIdOf(name);
    const configs = Object.values(resourcesOf(t, 'AWS::Lambda::EventInvokeConfig')).filter(
      (config) => functionBehind(t, config.Properties.FunctionName) === fnId,
    );
    expect(configs).toHaveLength(1);
    const config = configs[0]?.Properties as Record<string, unknown>;
    expect(config).toMatchObject({
      MaximumRetryAttempts: JOB_RETRY_ATTEMPTS,
      MaximumEventAgeInSeconds: JOB_MAX_EVENT_AGE.toSeconds(),
    });
    const destination = (config.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure
      .Destination;
    expect(refTarget(destination)).toBe(refTarget(scheduleOf(name).target.DeadLetterConfig?.Arn));
  });

  it('gives every job its own DLQ: 14 days, KMS-encrypted with a rotating key, TLS only', () => {
    const queues = resourcesOf(t, 'AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(SCHEDULED_JOBS.length);
    const dlqs = new Set(
      SCHEDULED_JOBS.map((job) => refTarget(scheduleOf(job.name).target.DeadLetterConfig?.Arn)),
    );
    expect(dlqs.size).toBe(SCHEDULED_JOBS.length);
    const keys = resourcesOf(t, 'AWS::KMS::Key');
    for (const [queueId, queue] of Object.entries(queues)) {
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      const keyId = refTarget(queue.Properties.KmsMasterKeyId);
      expect(keyId && keys[keyId]?.Properties.EnableKeyRotation).toBe(true);
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it.each(jobs)(
    '%s: the execution role is trusted by Scheduler for this group only, may invoke only its function and write only its DLQ',
    (name) => {
      const { schedule, target } = scheduleOf(name);
      const fnId = functionIdOf(name);
      const queueId = refTarget(target.DeadLetterConfig?.Arn);
      const roleId = refTarget(target.RoleArn);
      const role = resourcesOf(t, 'AWS::IAM::Role')[roleId ?? ''];
      expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
      const groupId = Object.keys(resourcesOf(t, 'AWS::Scheduler::ScheduleGroup'))[0];
      expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: {
              StringEquals: {
                'aws:SourceAccount': { Ref: 'AWS::AccountId' },
                'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] },
              },
            },
          },
        ],
      });

      const statements = statementsOfRole(t, roleId);
      expect(statements.flatMap(actionsOf).sort()).toEqual(
        ['kms:Decrypt', 'kms:GenerateDataKey', 'lambda:InvokeFunction', 'sqs:SendMessage'].sort(),
      );
      const invoke = statements.find((s) => actionsOf(s).includes('lambda:InvokeFunction'));
      // The function's live alias: no `:*` (every version and alias), no other function.
      expect(functionBehind(t, invoke?.Resource)).toBe(fnId);
      expect(JSON.stringify(invoke?.Resource)).not.toContain(':*');
      const send = statements.find((s) => actionsOf(s).includes('sqs:SendMessage'));
      expect(refTarget(send?.Resource)).toBe(queueId);
      const kmsUse = statements.find((s) => actionsOf(s).includes('kms:GenerateDataKey'));
      const queueKey = refTarget(resourcesOf(t, 'AWS::SQS::Queue')[queueId ?? '']?.Properties.KmsMasterKeyId);
      expect(refTarget(kmsUse?.Resource)).toBe(queueKey);
      expect(kmsUse?.Condition).toEqual({
        StringEquals: { 'kms:ViaService': `sqs.${FIRST_REGION.region}.amazonaws.com` },
      });
      // The schedule is created after the role's policy, so its first run can invoke.
      expect(schedule.DependsOn).toEqual(expect.arrayContaining([roleId]));
    },
  );

  it('lets each job function send only to its own DLQ', () => {
    for (const job of SCHEDULED_JOBS) {
      const fnId = functionIdOf(job.name);
      const queueId = refTarget(scheduleOf(job.name).target.DeadLetterConfig?.Arn);
      const roleId = refTarget(resourcesOf(t, 'AWS::Lambda::Function')[fnId]?.Properties.Role);
      const sqsStatements = statementsOfRole(t, roleId).filter((s) =>
        actionsOf(s).some((action) => action.startsWith('sqs:')),
      );
      expect(sqsStatements).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage' })]);
      expect(refTarget(sqsStatements[0]?.Resource)).toBe(queueId);
    }
  });

  it("lets only the usage-keys job manage API Gateway usage keys, in its region's plans", () => {
    for (const job of SCHEDULED_JOBS) {
      const fnId = functionIdOf(job.name);
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[fnId];
      const roleId = refTarget(fn?.Properties.Role);
      const apiGatewayActions = statementsOfRole(t, roleId)
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('apigateway:'));
      if (job.name === 'usage-keys') {
        expect(envOf(fn as CfnResource).USAGE_PLAN_PREFIX).toBe(`giftcard-api-prod-${FIRST_REGION.region}`);
        expect(new Set(apiGatewayActions)).toEqual(
          new Set(['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE']),
        );
      } else {
        expect(envOf(fn as CfnResource).USAGE_PLAN_PREFIX, job.name).toBeUndefined();
        expect(apiGatewayActions, job.name).toEqual([]);
      }
    }
  });

  it('lets nothing but the execution roles invoke the job functions (no resource policy)', () => {
    t.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  it('alarms on every DLQ holding a message and on every function error', () => {
    // Alarms on emitted metrics (namespace GiftCard/<stage>) and throttles come on top.
    const all = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm'));
    const alarms = all.filter(
      (alarm) =>
        !String(alarm.Properties.Namespace).startsWith('GiftCard/') &&
        alarm.Properties.MetricName !== 'Throttles',
    );
    expect(alarms).toHaveLength(2 * SCHEDULED_JOBS.length);
    expect(all.length - alarms.length).toBe(
      SCHEDULED_JOBS.length + SCHEDULED_JOBS.flatMap((job) => job.alarmMetrics ?? []).length,
    );
    const common = {
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    };
    for (const job of SCHEDULED_JOBS) {
      const queueId = refTarget(scheduleOf(job.name).target.DeadLetterConfig?.Arn);
      const fnId = functionIdOf(job.name);
      const dimensionOf = (alarm: CfnResource) =>
        ((alarm.Properties.Dimensions as { Name: string; Value: unknown }[] | undefined) ?? [])[0];
      const dlqAlarms = alarms.filter(
        (alarm) =>
          dimensionOf(alarm)?.Name === 'QueueName' && refTarget(dimensionOf(alarm)?.Value) === queueId,
      );
      expect(dlqAlarms, job.name).toHaveLength(1);
      expect(dlqAlarms[0]?.Properties).toMatchObject({
        ...common,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
      });
      const errorAlarms = alarms.filter(
        (alarm) =>
          dimensionOf(alarm)?.Name === 'FunctionName' && refTarget(dimensionOf(alarm)?.Value) === fnId,
      );
      expect(errorAlarms, job.name).toHaveLength(1);
      expect(errorAlarms[0]?.Properties).toMatchObject({
        ...common,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
      });
    }
  });
});

describe('schedule expressions', () => {
  const job = (every: ScheduledJobDefinition['every']): ScheduledJobDefinition => ({
    name: 'probe',
    module: 'probe',
    description: 'probe',
    every,
    localEveryMs: 1000,
  });

  it('gives rates in minutes (UTC: a rate has no local time) and crons in the given time zone', () => {
    expect(scheduleExpressionOf(job({ minutes: 1 }), 'Europe/Dublin').expressionString).toBe(
      'rate(1 minute)',
    );
    expect(scheduleExpressionOf(job({ minutes: 15 }), 'Europe/Dublin').expressionString).toBe(
      'rate(15 minutes)',
    );
    const cron = scheduleExpressionOf(job({ cron: '15 2 * * ? *' }), 'Europe/Dublin');
    expect(cron.expressionString).toBe('cron(15 2 * * ? *)');
    expect(cron.timeZone?.timezoneName).toBe('Europe/Dublin');
  });

  it('fails the synth on a malformed entry, naming the job', () => {
    expect(() => scheduleExpressionOf(job({ minutes: 0 }), 'UTC')).toThrow(/probe: every\.minutes/);
    expect(() => scheduleExpressionOf(job({ minutes: 2.5 }), 'UTC')).toThrow(/probe: every\.minutes/);
    expect(() => scheduleExpressionOf(job({ cron: '15 2 * * *' }), 'UTC')).toThrow(/probe: every\.cron/);
  });
});

describe('buildGiftCardApp', () => {
  // The app of cdk.json's two regions (us-east-1 on America/New_York, eu-west-1 on Europe/Dublin), built
  // once per process for the infra files that only read it.
  it('makes one schedules stack per region, each with every job on its own region time zone', () => {
    const { app, sets } = buildAllRegions();
    expect(sets.map((set) => set.config.timeZone).sort()).toEqual(['America/New_York', 'Europe/Dublin']);
    const stacks = app.node.children.filter(
      (child): child is Stack => child instanceof Stack && child.stackName.startsWith('GiftCard-Schedules-'),
    );
    expect(stacks.map((stack) => stack.stackName).sort()).toEqual(
      ['GiftCard-Schedules-eu-west-1-prod', 'GiftCard-Schedules-us-east-1-prod'].sort(),
    );
    for (const set of sets) {
      expect(set.schedules.stackName).toBe(`GiftCard-Schedules-${set.config.region}-prod`);
      expect(set.schedules.region).toBe(set.config.region);
      expect(set.schedules.jobs.map((scheduled) => scheduled.definition.name)).toEqual(
        SCHEDULED_JOBS.map((scheduled) => scheduled.name),
      );
      const t = Template.fromStack(set.schedules);
      for (const schedule of Object.values(resourcesOf(t, 'AWS::Scheduler::Schedule'))) {
        const expression = String(schedule.Properties.ScheduleExpression);
        if (expression.startsWith('cron(')) {
          expect(schedule.Properties.ScheduleExpressionTimezone).toBe(set.config.timeZone);
        }
      }
    }
  });

  it('handles any number of jobs: one function, schedule, DLQ and two alarms each', () => {
    const extra: ScheduledJobDefinition = {
      name: 'probe-every-minute',
      module: 'hold-expiry', // any existing module: bundling is skipped here
      description: 'Probe job every minute.',
      every: { minutes: 1 },
      localEveryMs: 10_000,
    };
    const { sets } = buildTestApp({ regions: [US], nag: false });
    const set = sets[0];
    if (!set) throw new Error('no set');
    // A second schedules stack in the same app, built from a longer registry.
    const stack = new SchedulesStack(set.schedules.node.scope as App, 'Probe-Schedules', {
      env: { region: US.region },
      runtime: {
        region: set.config,
        table: set.data.table,
        pepperSecret: set.data.pepperSecret,
        staffAuth: { issuer: 'https://issuer', jwksUrl: 'https://issuer/jwks', audience: 'aud' },
      },
      jobs: [...SCHEDULED_JOBS, extra],
    });
    const t = Template.fromStack(stack);
    const count = SCHEDULED_JOBS.length + 1;
    t.resourceCountIs('AWS::Lambda::Function', count);
    t.resourceCountIs('AWS::Scheduler::Schedule', count);
    t.resourceCountIs('AWS::SQS::Queue', count);
    const metricAlarms = SCHEDULED_JOBS.flatMap((job) => job.alarmMetrics ?? []).length;
    // DLQ, errors and throttles per job, and one per metric a job alarms on.
    t.resourceCountIs('AWS::CloudWatch::Alarm', 3 * count + metricAlarms);
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 minute)' });
  });
});
