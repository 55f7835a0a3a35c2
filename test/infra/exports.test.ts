import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_MAX_CONCURRENCY, EXPORT_SCHEDULE_CRON } from '../../lib/exports-stack';
import type { RegionStacks } from '../../lib/giftcard-app';
import {
  actionsOf,
  buildFirstRegion,
  envOf,
  FIRST_REGION,
  type PolicyStatement,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

describe('exports stack', () => {
  let set: RegionStacks;
  let t: Template;
  let api: Template;
  const timeZone = (FIRST_REGION as { timeZone?: string }).timeZone;

  beforeAll(() => {
    set = buildFirstRegion();
    t = template(set.exports);
    api = template(set.apiHandlers);
  });

  const logicalId = (type: string, predicate: (properties: Record<string, unknown>) => boolean) => {
    const found = Object.entries(resourcesOf(t, type)).filter(([, resource]) =>
      predicate(resource.Properties),
    );
    expect(found, type).toHaveLength(1);
    return found[0]?.[0] as string;
  };
  const exportBucketId = () =>
    logicalId('AWS::S3::Bucket', (properties) =>
      JSON.stringify(properties.BucketName ?? '').includes('giftcard-exports'),
    );
  const stepRoleId = (step: string) => {
    const fn = Object.values(resourcesOf(t, 'AWS::Lambda::Function')).find(
      (resource) => envOf(resource).POWERTOOLS_SERVICE_NAME === `giftcard-export-${step}`,
    );
    return refTarget(fn?.Properties.Role);
  };
  const s3Statements = (statements: PolicyStatement[]) =>
    statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));

  it('keeps the files in a KMS-encrypted, versioned, private, TLS-only bucket with access logs', () => {
    const bucketId = exportBucketId();
    t.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: Match.anyValue(),
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
              BucketKeyEnabled: true,
            }),
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              Status: 'Enabled',
              Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
              NoncurrentVersionTransitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
            }),
          ],
        },
      }),
      DeletionPolicy: 'Retain',
    });
    const policies = Object.values(resourcesOf(t, 'AWS::S3::BucketPolicy')).filter(
      (policy) => refTarget(policy.Properties.Bucket) === bucketId,
    );
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
  });

  it('starts the state machine at 00:00 on the 1st in the region time zone, with the scheduled time', () => {
    const schedule = Object.values(resourcesOf(t, 'AWS::Scheduler::Schedule'))[0];
    expect(schedule?.Properties.ScheduleExpression).toBe(`cron(${EXPORT_SCHEDULE_CRON})`);
    expect(schedule?.Properties.ScheduleExpressionTimezone).toBe(timeZone);
    expect(schedule?.Properties.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    const target = schedule?.Properties.Target as {
      Arn: unknown;
      RoleArn: unknown;
      Input: string;
      DeadLetterConfig: { Arn: unknown };
    };
    const stateMachineId = logicalId('AWS::StepFunctions::StateMachine', () => true);
    expect(refTarget(target.Arn)).toBe(stateMachineId);
    expect(JSON.parse(target.Input)).toEqual({ scheduledTime: '<aws.scheduler.scheduled-time>' });
    expect(target.DeadLetterConfig.Arn).toBeDefined();
    const roleStatements = statementsOfRole(t, refTarget(target.RoleArn));
    expect(roleStatements.flatMap(actionsOf).sort()).toEqual(
      ['kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage', 'states:StartExecution'].sort(),
    );
  });

  it('fans out: plan, wait out the settle margin, a bounded Map over segments with retries, finalize, catch', () => {
    const machine = Object.values(resourcesOf(t, 'AWS::StepFunctions::StateMachine'))[0];
    const definition = JSON.stringify(machine?.Properties.DefinitionString);
    expect(definition).toContain('\\"TimestampPath\\":\\"$.notBefore\\"');
    expect(definition).toContain(`\\"MaxConcurrency\\":${EXPORT_MAX_CONCURRENCY}`);
    expect(definition).toContain('\\"ItemsPath\\":\\"$.segments\\"');
    expect(definition).toMatch(/Segment.*Retry.*States\.ALL/);
    expect(definition).toMatch(
      /"Catch\\":\[\{\\"ErrorEquals\\":\[\\"States\.ALL\\"\],\\"ResultPath\\":\\"\$\.error\\",\\"Next\\":\\"MarkFailed\\"/,
    );
    expect(machine?.Properties).toMatchObject({
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
  });

  it('alarms on failed and timed-out executions, on the failure log line and on the schedule DLQ', () => {
    const alarms = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const metricNames = alarms.map((alarm) => alarm.MetricName);
    expect(metricNames).toEqual(
      expect.arrayContaining([
        'ExecutionsFailed',
        'ExecutionsTimedOut',
        'FinanceExportFailed',
        'ApproximateNumberOfMessagesVisible',
      ]),
    );
  });

  it('grants least privilege: segments and finalize write exports/ only; plan and failed touch no bucket', () => {
    for (const step of ['segment', 'finalize']) {
      const statements = s3Statements(statementsOfRole(t, stepRoleId(step)));
      expect(statements.flatMap(actionsOf).sort(), step).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
      expect(JSON.stringify(statements.map((statement) => statement.Resource)), step).toContain('/exports/*');
    }
    for (const step of ['plan', 'failed']) {
      expect(s3Statements(statementsOfRole(t, stepRoleId(step))), step).toEqual([]);
    }
    expect(JSON.stringify(resourcesOf(t, 'AWS::IAM::Policy'))).not.toMatch(/"s3:\*"|"s3:Delete/);
    // Only segments scan the table; only the plan reads its size.
    const dynamo = (step: string) =>
      statementsOfRole(t, stepRoleId(step))
        .flatMap(actionsOf)
        .filter((action) => action === 'dynamodb:Scan' || action === 'dynamodb:DescribeTable');
    expect(dynamo('segment')).toEqual(['dynamodb:Scan']);
    expect(dynamo('plan')).toEqual(['dynamodb:DescribeTable']);
    expect(dynamo('finalize')).toEqual([]);
    expect(dynamo('failed')).toEqual([]);
  });

  it('the API exports function starts executions and reads exports/ to sign links, nothing more', () => {
    const fn = Object.entries(resourcesOf(api, 'AWS::Lambda::Function')).find(
      ([, resource]) => envOf(resource).POWERTOOLS_SERVICE_NAME === 'giftcard-api-exports',
    );
    const env = envOf(fn?.[1]);
    expect(env.EXPORT_STATE_MACHINE_ARN).toBeDefined();
    expect(JSON.stringify(env.EXPORT_BUCKET_NAME)).toContain('giftcard-exports-');
    const statements = statementsOfRole(api, refTarget(fn?.[1].Properties.Role));
    const s3 = s3Statements(statements);
    expect(s3.flatMap(actionsOf)).toEqual(['s3:GetObject']);
    expect(JSON.stringify(s3[0]?.Resource)).toContain('/exports/*');
    expect(statements.flatMap(actionsOf)).toContain('states:StartExecution');
    // Other API functions get neither: never the exports bucket (the bulk API's s3 rights are on the bulk
    // bucket: issuance.test.ts), and the production function, which signs links to printer file parts,
    // only GetObject under production/ of the printer file bucket.
    const others = Object.values(resourcesOf(api, 'AWS::Lambda::Function')).filter(
      (resource) => envOf(resource).POWERTOOLS_SERVICE_NAME !== 'giftcard-api-exports',
    );
    for (const other of others) {
      const statements = statementsOfRole(api, refTarget(other.Properties.Role));
      expect(statements.flatMap(actionsOf).some((action) => action.startsWith('states:'))).toBe(false);
      const exportObjects = s3Statements(statements).filter((statement) =>
        JSON.stringify(statement.Resource).includes('giftcard-exports-'),
      );
      expect(exportObjects).toEqual([]);
      if (envOf(other).POWERTOOLS_SERVICE_NAME === 'giftcard-api-production') {
        const printerFiles = s3Statements(statements);
        expect(printerFiles.flatMap(actionsOf)).toEqual(['s3:GetObject']);
        expect(JSON.stringify(printerFiles[0]?.Resource)).toContain('giftcard-printer-files-');
        expect(JSON.stringify(printerFiles[0]?.Resource)).toContain('/production/*');
      }
    }
  });

  it('signs the chain root with an ECC P-256 KMS key only finalize may use, to sign and read its public key', () => {
    const keyId = logicalId('AWS::KMS::Key', (properties) => properties.KeySpec === 'ECC_NIST_P256');
    t.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const signers = Object.values(resourcesOf(t, 'AWS::Lambda::Function')).filter((resource) =>
      statementsOfRole(t, refTarget(resource.Properties.Role)).some((statement) =>
        actionsOf(statement).includes('kms:Sign'),
      ),
    );
    expect(signers.map((resource) => envOf(resource).POWERTOOLS_SERVICE_NAME)).toEqual([
      'giftcard-export-finalize',
    ]);
    const statement = statementsOfRole(t, stepRoleId('finalize')).find((candidate) =>
      actionsOf(candidate).includes('kms:Sign'),
    );
    expect(actionsOf(statement as PolicyStatement).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    expect(JSON.stringify(statement?.Resource)).toContain(keyId);
    expect(JSON.stringify(envOf(signers[0]).EXPORT_SIGNING_KEY_ID)).toContain(keyId);
  });
});
