import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { RegionConfig } from './config';
import { Delivery, type DeliverySettings } from './constructs/delivery';
import { GiftCardTable } from './constructs/table';

export interface DataStackProps extends StackProps {
  readonly region: RegionConfig;
}

/**
 * Stateful resources of one region: the data key, the single table and the card-code pepper.
 * Everything here is retained on delete and the stack is termination-protected: losing the table
 * loses the ledger, losing the pepper makes every issued card code unfindable.
 */
export class DataStack extends Stack {
  readonly dataKey: kms.Key;
  readonly table: GiftCardTable;
  readonly pepperSecret: secretsmanager.Secret;
  /** APNs token-signing key `{ teamId, keyId, privateKey }` (wallet pass pushes). */
  readonly apnsKeySecret: secretsmanager.Secret;
  /** Google Wallet service account key file plus `issuerId`. */
  readonly googleServiceAccountSecret: secretsmanager.Secret;
  /** Apple Wallet pass signing: `{ signerCert, signerKey, passphrase?, wwdr, passTypeIdentifier, teamIdentifier }`. */
  readonly applePassSecret: secretsmanager.Secret;
  /** E-mail and SMS sending (SES identity, configuration set, events topic); absent without `delivery`. */
  readonly delivery: DeliverySettings | undefined;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { terminationProtection: true, ...props });

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: `Gift card platform data key (${props.region.region}): table, stream and code pepper`,
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    // The stage in the alias: staging and production may share an account and region.
    this.dataKey.addAlias(`alias/giftcard/${props.region.stage}/data`);

    this.table = new GiftCardTable(this, 'GiftCards', { encryptionKey: this.dataKey });
    this.delivery = props.region.delivery
      ? new Delivery(this, 'Delivery', { region: props.region, encryptionKey: this.dataKey }).settings
      : undefined;

    // Never change generateSecretString: CloudFormation would generate a new value over the peppers in
    // use (a description change leaves the value alone). Rotation edits the value: see the README.
    this.pepperSecret = new secretsmanager.Secret(this, 'CodePepper', {
      description:
        'HMAC pepper for gift card codes (card id = HMAC(code)); rotate only by the README procedure (JSON set keeping old peppers)',
      encryptionKey: this.dataKey,
      generateSecretString: {
        passwordLength: 64,
        excludePunctuation: true,
        includeSpace: false,
        requireEachIncludedType: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.pepperSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The pepper keys the HMAC that turns every card code into its card id, so replacing the value would ' +
        'make every issued card unfindable. Rotation is manual and keeps old cards working: the secret becomes ' +
        'the JSON set {"current","peppers","sealing"} with the old value kept under v1; the new pepper is added, ' +
        'then made current after the functions\' 5-minute cache; lookups try every pepper (README, "Rotating the ' +
        'code pepper"). Automatic Lambda-based rotation is not provided: a Secrets Manager rotation function ' +
        'replacing the value would break every lookup.',
    });

    // Wallet push credentials come from Apple and Google: created with a placeholder (the functions treat
    // it as "not configured"), the operator puts the real JSON (README, "Wallets: Google and push updates").
    this.apnsKeySecret = this.walletSecret(
      'ApnsKey',
      'APNs token-signing key for Wallet pass pushes: JSON { teamId, keyId, privateKey (the .p8 PEM) }',
      'The APNs auth key is created and revoked in the Apple Developer account, not generated here: rotation is ' +
        'creating a new key there and putting { teamId, keyId, privateKey } as the new value (functions re-read ' +
        'it within 5 minutes), then revoking the old key at Apple. A rotation Lambda cannot create Apple keys.',
    );
    this.googleServiceAccountSecret = this.walletSecret(
      'GoogleServiceAccount',
      'Google Wallet service account key: the JSON key file from Google Cloud plus "issuerId"',
      'The service account key is created in Google Cloud IAM, not generated here: rotation is creating a new ' +
        'key there, putting the key file (plus issuerId) as the new value (functions re-read it within 5 ' +
        'minutes), then deleting the old key in Google Cloud. A rotation Lambda cannot create Google keys.',
    );

    this.applePassSecret = this.walletSecret(
      'ApplePassCertificates',
      'Apple Wallet pass signing: JSON { signerCert, signerKey, passphrase?, wwdr, passTypeIdentifier, teamIdentifier } (PEMs)',
      'The Pass Type ID certificate is issued by Apple (a CSR uploaded in the Apple Developer account) and ' +
        'expires after a year; it cannot be generated here. Renewal is a new certificate from Apple put as the new ' +
        'value with the same passTypeIdentifier (functions re-read it within 15 minutes; installed passes keep ' +
        'working because their tokens do not depend on the certificate). A rotation Lambda cannot obtain Apple certificates.',
    );

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'CodePepperSecretArn', { value: this.pepperSecret.secretArn });
    new CfnOutput(this, 'ApnsKeySecretArn', { value: this.apnsKeySecret.secretArn });
    new CfnOutput(this, 'ApplePassSecretArn', { value: this.applePassSecret.secretArn });
    new CfnOutput(this, 'GoogleServiceAccountSecretArn', {
      value: this.googleServiceAccountSecret.secretArn,
    });
  }

  /** A KMS-encrypted secret holding a placeholder until the operator puts the credential from Apple or Google. */
  private walletSecret(id: string, description: string, rotationReason: string): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      description,
      encryptionKey: this.dataKey,
      // Never change: CloudFormation would generate a new value over the credential put by the operator.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ placeholder: 'put the real credential JSON here' }),
        generateStringKey: 'placeholderNonce',
        passwordLength: 16,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: rotationReason });
    return secret;
  }
}
