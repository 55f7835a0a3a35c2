import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegionStacks } from '../../lib/giftcard-app';
import { BULK_RUNNER_TIMEOUT, bulkRunnerName } from '../../lib/issuance-stack';
import {
  actionsOf,
  buildFirstRegion,
  type CfnResource,
  envOf,
  refTarget,
  resourcesOf,
  statementsOfRole,
  template,
} from './build';

/** E-gift delivery and bulk issuance wiring (issue #19): lib/issuance-stack.ts and its grants. */
let set: RegionStacks;
let issuance: Template;
let handlers: Template;
let schedules: Template;

beforeAll(() => {
  set = buildFirstRegion();
  issuance = template(set.issuance);
  handlers = template(set.apiHandlers);
  schedules = template(set.schedules);
});

const functionOf = (t: Template, service: string): CfnResource => {
  const found = Object.values(resourcesOf(t, 'AWS::Lambda::Function')).find(
    (fn) => envOf(fn).POWERTOOLS_SERVICE_NAME === service,
  );
  if (!found) throw new Error(`no function ${service}`);
  return found;
};

/** Every statement of a function's role, flattened: [actions, resources as JSON]. */
function grantsOf(t: Template, fn: CfnResource): { actions: string[]; resources: string }[] {
  const role = refTarget(fn.Properties.Role);
  return statementsOfRole(t, role).map((statement) => ({
    actions: actionsOf(statement),
    resources: JSON.stringify(statement.Resource),
  }));
}

describe('the issuance stack', () => {
  it('keeps bulk files in a KMS-encrypted, private, TLS-only bucket whose files expire', () => {
    issuance.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 30 })]) },
    });
  });

  it('runs batches in a 15-minute runner that may invoke only its own live alias, retried twice then to a DLQ', () => {
    const runner = functionOf(issuance, 'giftcard-bulk-runner');
    expect(runner.Properties.FunctionName).toBe(bulkRunnerName('prod'));
    expect(runner.Properties.Timeout).toBe(BULK_RUNNER_TIMEOUT.toSeconds());
    expect(envOf(runner).BULK_RUNNER_FUNCTION_NAME).toBe(`${bulkRunnerName('prod')}:live`);
    expect(envOf(runner).PORTAL_BASE_URL).toBeDefined();
    const grants = grantsOf(issuance, runner);
    const invokes = grants.filter((grant) => grant.actions.includes('lambda:InvokeFunction'));
    expect(invokes).toHaveLength(1);
    expect(invokes[0]?.resources).toContain(`function:${bulkRunnerName('prod')}:live`);
    // Objects under bulk/ only; no sending, no bucket-wide rights.
    const s3 = grants.filter((grant) => grant.actions.some((action) => action.startsWith('s3:')));
    expect(s3.flatMap((grant) => grant.actions).sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:PutObject',
    ]);
    for (const grant of s3) expect(grant.resources).toMatch(/\/bulk\/\*/);
    expect(grants.flatMap((grant) => grant.actions).filter((action) => action.startsWith('ses:'))).toEqual(
      [],
    );
    issuance.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it("subscribes the SES events consumer to the Delivery construct's topic, through its live alias", () => {
    const consumer = functionOf(issuance, 'giftcard-delivery-ses-events');
    expect(consumer).toBeDefined();
    issuance.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      Endpoint: Match.anyValue(),
      TopicArn: Match.anyValue(),
    });
    issuance.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
    });
  });
});

describe('the grants elsewhere', () => {
  it('lets the bulk API sign and read bulk/ files and start the runner, nothing more of the issuance stack', () => {
    const bulk = functionOf(handlers, 'giftcard-api-bulk');
    expect(envOf(bulk).BULK_RUNNER_FUNCTION_NAME).toBe(`${bulkRunnerName('prod')}:live`);
    expect(JSON.stringify(envOf(bulk).BULK_BUCKET_NAME)).toContain('giftcard-bulk-prod-');
    const grants = grantsOf(handlers, bulk);
    const s3 = grants.filter((grant) => grant.actions.some((action) => action.startsWith('s3:')));
    expect(s3.flatMap((grant) => grant.actions).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(grants.filter((grant) => grant.actions.includes('lambda:InvokeFunction'))).toHaveLength(1);
  });

  it('lets the e-gift sender (the delivery API and the egift-deliveries job) send mail, with claim links to the portal', () => {
    for (const [t, service] of [
      [handlers, 'giftcard-api-delivery'],
      [schedules, 'giftcard-job-egift-deliveries'],
    ] as const) {
      const fn = functionOf(t, service);
      expect(envOf(fn).PORTAL_BASE_URL, service).toBeDefined();
      expect(envOf(fn).SES_CONFIGURATION_SET, service).toBe('giftcard-prod');
      const actions = grantsOf(t, fn).flatMap((grant) => grant.actions);
      expect(actions, service).toContain('ses:SendEmail');
      expect(actions, service).toContain('sms-voice:SendTextMessage');
    }
    // Nothing else sends.
    for (const service of ['giftcard-api-cards', 'giftcard-api-bulk', 'giftcard-job-hold-expiry']) {
      const t = service.startsWith('giftcard-api') ? handlers : schedules;
      const actions = grantsOf(t, functionOf(t, service)).flatMap((grant) => grant.actions);
      expect(
        actions.filter((action) => action.startsWith('ses:')),
        service,
      ).toEqual([]);
    }
  });
});
