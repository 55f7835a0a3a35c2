import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { STREAM_MAX_RECORD_AGE, STREAM_RETRY_ATTEMPTS } from '../../lib/streams-stack';
import {
  actionsOf,
  buildFirstRegion,
  envOf,
  functionBehind,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

describe('streams stack', () => {
  let t: Template;

  beforeAll(() => {
    t = template(buildFirstRegion().streams);
  });

  const functionOf = (name: string): string => {
    const matches = Object.entries(resourcesOf(t, 'AWS::Lambda::Function')).filter(
      ([, fn]) => envOf(fn).POWERTOOLS_SERVICE_NAME === `giftcard-stream-${name}`,
    );
    expect(matches).toHaveLength(1);
    return matches[0]?.[0] as string;
  };

  const mappingOf = (name: string): Record<string, unknown> => {
    const fnId = functionOf(name);
    const mappings = Object.values(resourcesOf(t, 'AWS::Lambda::EventSourceMapping')).filter(
      (mapping) => functionBehind(t, mapping.Properties.FunctionName) === fnId,
    );
    expect(mappings).toHaveLength(1);
    return mappings[0]?.Properties as Record<string, unknown>;
  };

  it('has one function and one event source mapping per registry consumer', () => {
    t.resourceCountIs('AWS::Lambda::Function', STREAM_CONSUMERS.length);
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', STREAM_CONSUMERS.length);
  });

  it.each(STREAM_CONSUMERS.map((consumer) => [consumer.name, consumer] as const))(
    '%s: reads the table stream with the registry batch size and filters',
    (name, consumer) => {
      const mapping = mappingOf(name);
      expect(JSON.stringify(mapping.EventSourceArn)).toContain('StreamArn');
      expect(mapping.BatchSize).toBe(consumer.batchSize);
      const patterns = (mapping.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((filter) =>
        JSON.parse(filter.Pattern),
      );
      expect(patterns).toEqual(consumer.filters);
      expect(mapping.StartingPosition).toBe('TRIM_HORIZON');
    },
  );

  it.each(STREAM_CONSUMERS.map((consumer) => [consumer.name] as const))(
    '%s: partial batch failures, bisect, bounded retries and age, failures to an SQS DLQ',
    (name) => {
      const mapping = mappingOf(name);
      expect(mapping).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: STREAM_RETRY_ATTEMPTS,
        MaximumRecordAgeInSeconds: STREAM_MAX_RECORD_AGE.toSeconds(),
      });
      expect(STREAM_RETRY_ATTEMPTS).toBeGreaterThan(0);
      expect(STREAM_RETRY_ATTEMPTS).toBeLessThanOrEqual(10);
      const queueId = refTarget(
        (mapping.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure.Destination,
      );
      const queues = resourcesOf(t, 'AWS::SQS::Queue');
      expect(queueId && queues[queueId]).toBeTruthy();
    },
  );

  it('keeps DLQ messages 14 days, KMS-encrypted with a rotating key, TLS only', () => {
    const queues = resourcesOf(t, 'AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(STREAM_CONSUMERS.length);
    const keys = resourcesOf(t, 'AWS::KMS::Key');
    for (const [queueId, queue] of Object.entries(queues)) {
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      const keyId = refTarget(queue.Properties.KmsMasterKeyId);
      expect(keyId && keys[keyId]?.Properties.EnableKeyRotation).toBe(true);
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('alarms as soon as a DLQ holds a message', () => {
    const alarms = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.Namespace === 'AWS/SQS',
    );
    expect(alarms).toHaveLength(STREAM_CONSUMERS.length);
    const queueIds = Object.keys(resourcesOf(t, 'AWS::SQS::Queue'));
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      const [dimension] =
        (alarm.Properties.Dimensions as { Name: string; Value: unknown }[] | undefined) ?? [];
      expect(dimension?.Name).toBe('QueueName');
      expect(queueIds).toContain(refTarget(dimension?.Value));
    }
  });

  it('lets each consumer send only to its own DLQ', () => {
    for (const consumer of STREAM_CONSUMERS) {
      const fnId = functionOf(consumer.name);
      const queueId = refTarget(
        (mappingOf(consumer.name).DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure
          .Destination,
      );
      const roleId = refTarget(resourcesOf(t, 'AWS::Lambda::Function')[fnId]?.Properties.Role);
      const sqsStatements = statementsOfRole(t, roleId).filter((s) =>
        actionsOf(s).some((action) => action.startsWith('sqs:')),
      );
      expect(sqsStatements).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage' })]);
      expect(refTarget(sqsStatements[0]?.Resource)).toBe(queueId);
    }
  });

  it('gives each consumer the table access the registry declares: checks read, recorders write', () => {
    for (const consumer of STREAM_CONSUMERS) {
      const fnId = functionOf(consumer.name);
      const roleId = refTarget(resourcesOf(t, 'AWS::Lambda::Function')[fnId]?.Properties.Role);
      const actions = statementsOfRole(t, roleId).flatMap(actionsOf);
      expect(actions, consumer.name).toContain('dynamodb:GetItem');
      if (consumer.tableAccess === 'readWrite') expect(actions, consumer.name).toContain('dynamodb:PutItem');
      else expect(actions, consumer.name).not.toContain('dynamodb:PutItem');
    }
  });

  it('alarms on every metric a consumer emits for ops (ledger integrity, dead webhook deliveries)', () => {
    t.resourceCountIs('AWS::Logs::MetricFilter', 0);
    const alarms = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm'));
    for (const consumer of STREAM_CONSUMERS) {
      for (const metric of consumer.alarmMetrics ?? []) {
        const alarm = alarms.find(
          (candidate) =>
            candidate.Properties.MetricName === metric &&
            JSON.stringify(candidate.Properties.Dimensions).includes(`giftcard-stream-${consumer.name}`),
        );
        expect(alarm, metric).toBeDefined();
        expect(alarm?.Properties.Namespace).toBe('GiftCard/prod');
      }
    }
    expect(STREAM_CONSUMERS.flatMap((consumer) => consumer.alarmMetrics ?? [])).toContain(
      'LedgerIntegrityViolation',
    );
  });

  it('feeds the reporting consumer money entries and the audit consumer staff entries, each with its DLQ', () => {
    const patternsOf = (name: string) =>
      (mappingOf(name).FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((filter) =>
        JSON.parse(filter.Pattern),
      );
    const [reporting] = patternsOf('reporting');
    expect(reporting.dynamodb.Keys.SK.S).toEqual([{ prefix: 'TX#' }]);
    expect(reporting.dynamodb.NewImage.type.S).toEqual(
      expect.arrayContaining(['REDEEM', 'CAPTURE', 'EXPIRE']),
    );
    expect(reporting.dynamodb.NewImage.type.S).not.toContain('BLOCK');
    const [audit] = patternsOf('audit');
    expect(audit.dynamodb.NewImage.actor).toEqual({ M: { type: { S: ['staff'] } } });
    for (const name of ['reporting', 'audit']) {
      expect(mappingOf(name).DestinationConfig).toBeDefined();
    }
  });
});
