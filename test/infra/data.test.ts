import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTableInput, TABLE_INDEXES, TABLE_KEYS } from '../../functions/store/table-definition';
import { buildFirstRegion, FIRST_REGION, refTarget, resourcesOf, template } from './build';

describe('data stack', () => {
  let t: Template;
  let terminationProtection: boolean | undefined;

  beforeAll(() => {
    const set = buildFirstRegion();
    t = template(set.data);
    terminationProtection = set.data.terminationProtection;
  });

  const table = () => {
    const tables = Object.entries(resourcesOf(t, 'AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(1);
    const [logicalId, resource] = tables[0] ?? [];
    return {
      logicalId,
      resource: resource as { Properties: Record<string, unknown>; DeletionPolicy?: string },
    };
  };

  it('has exactly one table, keyed as table-definition.ts says', () => {
    const { Properties } = table().resource;
    const expected = createTableInput('any');
    expect(Properties.KeySchema).toEqual(expected.KeySchema);
    const sortByName = (list: unknown) =>
      [...(list as { AttributeName: string }[])].sort((a, b) =>
        a.AttributeName.localeCompare(b.AttributeName),
      );
    expect(sortByName(Properties.AttributeDefinitions)).toEqual(sortByName(expected.AttributeDefinitions));
    expect(Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([{ AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' }]),
    );
  });

  it('has the KEYS_ONLY global secondary indexes of the table definition', () => {
    const { Properties } = table().resource;
    const indexes = Properties.GlobalSecondaryIndexes as Record<string, unknown>[];
    expect(indexes.map((index) => index.IndexName)).toEqual(TABLE_INDEXES.map((index) => index.indexName));
    expect(indexes).toEqual(
      createTableInput('any').GlobalSecondaryIndexes.map((index) => expect.objectContaining(index)),
    );
  });

  it('is on-demand, point-in-time recoverable, deletion-protected, retained, with TTL and a full-image stream', () => {
    const { resource } = table();
    expect(resource.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.timeToLiveAttribute, Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    expect(resource.DeletionPolicy).toBe('Retain');
  });

  it('is encrypted with a customer-managed, rotating, retained KMS key', () => {
    const sse = table().resource.Properties.SSESpecification as Record<string, unknown>;
    expect(sse).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    const keyId = refTarget(sse.KMSMasterKeyId);
    const keys = resourcesOf(t, 'AWS::KMS::Key');
    expect(keyId && keys[keyId]).toBeTruthy();
    expect(keys[keyId as string]).toMatchObject({
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
    });
  });

  const pepperSecrets = () =>
    Object.values(resourcesOf(t, 'AWS::SecretsManager::Secret')).filter((secret) =>
      String(secret.Properties.Description).includes('pepper'),
    );

  it('keeps the card-code pepper in a generated, KMS-encrypted, retained secret of at least 32 characters', () => {
    // The pepper, besides the wallet push credentials (test/infra/wallet-secrets.test.ts).
    const secrets = pepperSecrets();
    expect(secrets).toHaveLength(1);
    const [secret] = secrets;
    const generate = secret?.Properties.GenerateSecretString as Record<string, unknown> | undefined;
    expect(generate?.PasswordLength).toBeGreaterThanOrEqual(32);
    // A plain string (no JSON template): functions/store/secrets.ts reads SecretString as the pepper.
    expect(generate?.SecretStringTemplate).toBeUndefined();
    const sse = table().resource.Properties.SSESpecification as Record<string, unknown>;
    expect(refTarget(secret?.Properties.KmsKeyId)).toBe(refTarget(sse.KMSMasterKeyId));
    expect(secret?.DeletionPolicy).toBe('Retain');
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  });

  it('never changes how the pepper is generated: CloudFormation would overwrite the peppers in use', () => {
    const [secret] = pepperSecrets();
    // A changed GenerateSecretString makes CloudFormation generate a new value, replacing a rotated JSON
    // set (and the only pepper of existing cards). Rotation edits the value instead (README).
    expect(secret?.Properties.GenerateSecretString).toEqual({
      ExcludePunctuation: true,
      IncludeSpace: false,
      PasswordLength: 64,
      RequireEachIncludedType: true,
    });
    expect(secret?.Properties.SecretString).toBeUndefined();
    expect(String(secret?.Properties.Description)).toContain('README');
  });

  it('is termination-protected', () => {
    expect(terminationProtection).toBe(true);
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/giftcard/prod/data' });
    t.hasOutput('TableName', { Value: Match.anyValue() });
  });
});

describe('delivery service resources', () => {
  let t: Template;

  beforeAll(() => {
    t = template(buildFirstRegion().data);
  });

  it("creates the sending domain's identity in the configuration set, which suppresses bounces and complaints", () => {
    const configured = FIRST_REGION as unknown as { delivery: { fromAddress: string } };
    const domain = configured.delivery.fromAddress.split('@')[1];
    t.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: domain,
      ConfigurationSetAttributes: { ConfigurationSetName: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  });

  it('publishes deliveries, bounces and complaints to an encrypted topic', () => {
    t.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['delivery', 'bounce', 'complaint', 'reject']),
        SnsDestination: { TopicARN: Match.anyValue() },
      },
    });
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });
});
