import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, CDK_JSON, type TestApp } from './build';

interface Violation {
  ruleName: string;
  severity: string;
  violatingResources?: { constructPath?: string }[];
  violatingConstructs?: { constructPath?: string }[];
}

/** The AwsSolutions findings (errors and warnings) left in the synthesized assembly's validation report. */
function awsSolutionsFindings(assemblyDir: string): string[] {
  const file = path.join(assemblyDir, 'validation-report.json');
  if (!fs.existsSync(file)) return [];
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    pluginReports: { pluginName: string; violations: Violation[] }[];
  };
  return report.pluginReports
    .filter((plugin) => plugin.pluginName.includes('AwsSolutions'))
    .flatMap((plugin) => plugin.violations)
    .flatMap((violation) =>
      [...(violation.violatingResources ?? []), ...(violation.violatingConstructs ?? [])].map(
        (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
      ),
    );
}

interface Acknowledgement {
  id: string;
  reason: string;
  path: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

/** Every rule the app acknowledges; adding one means adding it here, with its reason reviewed. */
const EXPECTED_ACKNOWLEDGED = [
  'AwsSolutions-APIG4',
  'AwsSolutions-COG4',
  // CodeDeploy's own policy for Lambda alias deployments (canary and rollback).
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
  'AwsSolutions-IAM5[Resource::*]',
  // The merchants function moving usage keys between usage plans (ids made by API Gateway).
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/*/keys]',
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/*/keys/*]',
  // Finance exports: files under exports/ of the export bucket; the state machine invoking its step functions.
  'AwsSolutions-IAM5[Resource::<Exports25637AFB.Arn>/exports/*]',
  ...CDK_JSON.context.regions.map(
    (region) =>
      `AwsSolutions-IAM5[Resource::arn:aws:s3:::giftcard-exports-prod-<AWS::AccountId>-${String(region.region)}/exports/*]`,
  ),
  // Bulk issuance (issue #19): batch files under bulk/ of the bulk bucket.
  ...CDK_JSON.context.regions.map(
    (region) =>
      `AwsSolutions-IAM5[Resource::arn:aws:s3:::giftcard-bulk-prod-<AWS::AccountId>-${String(region.region)}/bulk/*]`,
  ),
  // E-gift and loyalty sign-in text messages: End User Messaging origination identities, in the regions
  // that configure one.
  ...CDK_JSON.context.regions
    .filter(
      (region) =>
        (region.delivery as { smsOriginationIdentity?: string } | undefined)?.smsOriginationIdentity,
    )
    .flatMap((region) =>
      ['phone-number', 'sender-id', 'pool'].map(
        (kind) =>
          `AwsSolutions-IAM5[Resource::arn:aws:sms-voice:${String(region.region)}:<AWS::AccountId>:${kind}/*]`,
      ),
    ),
  'AwsSolutions-IAM5[Resource::<StepfailedLiveA1A8B464>:*]',
  'AwsSolutions-IAM5[Resource::<StepfinalizeLive9B6F979F>:*]',
  'AwsSolutions-IAM5[Resource::<StepplanLiveE3A388A1>:*]',
  'AwsSolutions-IAM5[Resource::<StepsegmentLiveC1AA09AE>:*]',
  // Physical card production: printer file parts under production/ (worker writes, API signs links).
  'AwsSolutions-IAM5[Resource::<PrinterFiles34B46EBB.Arn>/production/*]',
  ...CDK_JSON.context.regions.map(
    (region) =>
      `AwsSolutions-IAM5[Resource::arn:aws:s3:::giftcard-printer-files-prod-<AWS::AccountId>-${String(region.region)}/production/*]`,
  ),
  'AwsSolutions-L1',
  // The web apps: CloudFront without geo restriction or its own WAF (static files; the API has the WAF), the
  // default certificate without a custom domain, the CDK BucketDeployment helper that publishes the build.
  'AwsSolutions-CFR1',
  'AwsSolutions-CFR2',
  'AwsSolutions-CFR4',
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map(
    (action) => `AwsSolutions-IAM5[Action::${action}]`,
  ),
  ...CDK_JSON.context.regions.flatMap((region) => [
    `AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${String(region.region)}/*]`,
    `AwsSolutions-IAM5[Resource::arn:aws:s3:::giftcard-web-<AWS::AccountId>-${String(region.region)}/*]`,
  ]),
  // The Ops page reading the dead-letter queues' message counts.
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:GiftCard-*]',
  // The access log bucket of the export bucket does not log its own access.
  'AwsSolutions-S1',
  'AwsSolutions-SMG4',
  'AwsSolutions-SQS3',
];

describe('cdk-nag AwsSolutions', () => {
  let built: TestApp;
  let synthError: unknown;
  let assembly: CloudAssembly | undefined;
  let assemblyDir: string;

  beforeAll(() => {
    // Both regions of cdk.json: the whole app as `cdk synth` builds it (bundling skipped).
    built = buildTestApp();
    try {
      assembly = built.app.synth();
      assemblyDir = assembly.directory;
    } catch (error) {
      synthError = error;
      assemblyDir = built.outdir;
    }
  });

  it('synthesizes every stack of every region with no unacknowledged finding', () => {
    expect(synthError === undefined ? '' : String(synthError)).toBe('');
    expect(awsSolutionsFindings(assemblyDir)).toEqual([]);
  });

  // The messages of the one synthesis above, read per stack from its artifact: what Annotations.fromStack
  // reads, without the whole app (nag included) synthesized again for each stack (`synth({ force: true })`).
  it('leaves no error or warning annotation on any stack', () => {
    if (!assembly) throw new Error(`the app did not synthesize: ${String(synthError)}`);
    for (const set of built.sets) {
      for (const stack of [
        set.data,
        set.auth,
        set.exports,
        set.apiHandlers,
        set.api,
        set.streams,
        set.schedules,
        set.web,
        set.webContent,
      ]) {
        const messages = assembly.getStackArtifact(stack.artifactId).messages.map((message) => ({
          level: String(message.level),
          at: message.id,
          data: message.entry.data,
        }));
        expect(
          messages.filter((message) => message.level === 'error'),
          stack.stackName,
        ).toEqual([]);
        expect(
          messages.filter((message) => message.level === 'warning'),
          stack.stackName,
        ).toEqual([]);
      }
    }
  });

  it('acknowledges only the reviewed rules, each with a specific written reason', () => {
    const acks = acknowledgements(built.app);
    expect([...new Set(acks.map((ack) => ack.id))].sort()).toEqual([...EXPECTED_ACKNOWLEDGED].sort());
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(80);
    }
    // Stack-wide blanket acknowledgements would hide new findings: every one sits on a construct.
    for (const ack of acks) expect(ack.path.split('/').length, ack.path).toBeGreaterThan(1);
  });

  it('acknowledges SQS3 (no DLQ of its own) only on the DLQs of stream consumers, scheduled jobs, exports and issuance', () => {
    const sqs3 = acknowledgements(built.app).filter((ack) => ack.id === 'AwsSolutions-SQS3');
    expect(sqs3.length).toBeGreaterThan(0);
    for (const ack of sqs3) {
      expect(ack.path).toMatch(/^GiftCard-(Streams|Schedules|Exports|Issuance)-[a-z0-9-]+\/Dlq-[a-z0-9-]+$/);
    }
    const schedules = sqs3.filter((ack) => ack.path.startsWith('GiftCard-Schedules-'));
    expect(schedules.length).toBeGreaterThan(0);
    for (const ack of schedules) expect(ack.reason).toContain('EventBridge Scheduler');
  });

  it('acknowledges SMG4 (no automatic rotation) on the pepper and the wallet push credentials only, saying how each is rotated instead', () => {
    const all = acknowledgements(built.app).filter((ack) => ack.id === 'AwsSolutions-SMG4');
    const wallet = all.filter((ack) => /\/(ApnsKey|GoogleServiceAccount)(\/|$)/.test(ack.path));
    expect(wallet.length).toBe(2 * built.sets.length);
    for (const ack of wallet) {
      expect(ack.path).toMatch(/^GiftCard-Data-[a-z0-9-]+\/(ApnsKey|GoogleServiceAccount)(\/|$)/);
      expect(ack.reason).toMatch(/rotation is creating a new key there/);
    }
    // The Apple pass certificate is renewed by hand at Apple once a year.
    const apple = all.filter((ack) => /\/ApplePassCertificates(\/|$)/.test(ack.path));
    expect(apple.length).toBe(built.sets.length);
    for (const ack of apple) expect(ack.reason).toMatch(/issued by Apple .* expires after a year/);
    const smg4 = all.filter((ack) => !wallet.includes(ack) && !apple.includes(ack));
    expect(smg4.length).toBe(built.sets.length);
    for (const ack of smg4) {
      expect(ack.path).toMatch(/^GiftCard-Data-[a-z0-9-]+\/CodePepper/);
      expect(ack.reason).toContain('JSON set');
      expect(ack.reason).toContain('Rotating the code pepper');
      expect(ack.reason).toContain('Automatic Lambda-based rotation is not provided');
    }
  });

  it('writes the acknowledgements into the templates (cdk_nag metadata) for audit', () => {
    const templateFile = path.join(assemblyDir, `${built.sets[0]?.data.stackName}.template.json`);
    expect(fs.readFileSync(templateFile, 'utf8')).toContain('"cdk_nag"');
  });

  it('fails the synth on an error and reports warnings (the check is live)', () => {
    const outdir = fs.mkdtempSync(path.join(built.outdir, 'negative-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'NagProbe');
    new sqs.Queue(stack, 'PlainQueue');
    new cognito.UserPool(stack, 'NoMfaPool');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    const findings = awsSolutionsFindings(outdir);
    expect(findings).toContain('error AwsSolutions-SQS4 at NagProbe/PlainQueue/Resource');
    expect(findings).toContain('warning AwsSolutions-COG2 at NagProbe/NoMfaPool/Resource');
  });
});
