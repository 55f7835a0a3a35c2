import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { RegionConfig } from '../config';
import { nagValue } from './access-log-bucket';
import type { FunctionRuntime, GiftCardFunction } from './function';

/**
 * The region's delivery service resources (functions/store/message-sender.ts): the SES identity of the
 * sending domain, a configuration set whose event destination publishes sends, deliveries, bounces,
 * complaints and rejections to an SNS topic (the e-gift delivery status subscribes to it), and the grant
 * that lets a function send. Exists only when the region configures `delivery` (lib/config.ts).
 */
export interface DeliverySettings {
  readonly fromAddress: string;
  readonly fromName: string | undefined;
  readonly configurationSetName: string;
  readonly identityArn: string;
  readonly configurationSetArn: string;
  readonly smsOriginationIdentity: string | undefined;
  /** SES events of the configuration set (JSON event publishing records, one per SNS message). */
  readonly eventsTopic: sns.ITopic;
}

export interface DeliveryProps {
  readonly region: RegionConfig;
  /** Encrypts the events topic; SES is allowed to use it for that topic only. */
  readonly encryptionKey: kms.IKey;
}

export class Delivery extends Construct {
  readonly settings: DeliverySettings;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const delivery = props.region.delivery;
    if (!delivery) throw new Error('Delivery needs the region\'s "delivery" configuration');
    const stack = Stack.of(this);
    const domain = delivery.fromAddress.split('@')[1] as string;
    const configurationSetName = `giftcard-${props.region.stage}`;

    const configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName,
      // Bounced and complained addresses are suppressed for the account: SES stops sending to them.
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    const identity = new ses.EmailIdentity(this, 'Identity', {
      identity: ses.Identity.domain(domain),
      configurationSet,
    });

    const eventsTopic = new sns.Topic(this, 'Events', {
      displayName: `Gift card delivery events ${props.region.region} ${props.region.stage}`,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    props.encryptionKey.grant(
      new iam.ServicePrincipal('ses.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      'kms:GenerateDataKey*',
      'kms:Decrypt',
    );
    configurationSet.addEventDestination('ToTopic', {
      destination: ses.EventDestination.snsTopic(eventsTopic),
      events: [
        ses.EmailSendingEvent.SEND,
        ses.EmailSendingEvent.DELIVERY,
        ses.EmailSendingEvent.BOUNCE,
        ses.EmailSendingEvent.COMPLAINT,
        ses.EmailSendingEvent.REJECT,
        ses.EmailSendingEvent.DELIVERY_DELAY,
        ses.EmailSendingEvent.RENDERING_FAILURE,
      ],
    });

    this.settings = {
      fromAddress: delivery.fromAddress,
      fromName: delivery.fromName,
      configurationSetName,
      identityArn: stack.formatArn({
        service: 'ses',
        resource: 'identity',
        resourceName: identity.emailIdentityName,
      }),
      configurationSetArn: stack.formatArn({
        service: 'ses',
        resource: 'configuration-set',
        resourceName: configurationSetName,
      }),
      smsOriginationIdentity: delivery.smsOriginationIdentity,
      eventsTopic,
    };
  }
}

/**
 * Lets a function send messages: SES SendEmail from the region's address only, through its identity and
 * configuration set, and SMS SendTextMessage in this account and region; and tells it the names
 * (functions/config.ts MAIL_FROM_ADDRESS, SES_CONFIGURATION_SET, SMS_ORIGINATION_IDENTITY). A region
 * without delivery configured grants nothing: the function's sends fail with DeliveryNotConfigured.
 */
export function grantDelivery(fn: GiftCardFunction, runtime: FunctionRuntime): void {
  const delivery = runtime.delivery;
  if (!delivery) return;
  const target = fn.function;
  target.addEnvironment('MAIL_FROM_ADDRESS', delivery.fromAddress);
  if (delivery.fromName) target.addEnvironment('MAIL_FROM_NAME', delivery.fromName);
  target.addEnvironment('SES_CONFIGURATION_SET', delivery.configurationSetName);
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [delivery.identityArn, delivery.configurationSetArn],
      conditions: { StringEquals: { 'ses:FromAddress': delivery.fromAddress } },
    }),
  );
  if (delivery.smsOriginationIdentity) {
    target.addEnvironment('SMS_ORIGINATION_IDENTITY', delivery.smsOriginationIdentity);
    const stack = Stack.of(fn);
    const kinds = ['phone-number', 'sender-id', 'pool'] as const;
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sms-voice:SendTextMessage'],
        resources: kinds.map((resource) =>
          stack.formatArn({ service: 'sms-voice', resource, resourceName: '*' }),
        ),
      }),
    );
    for (const kind of kinds) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagValue(stack.partition, 'Partition')}:sms-voice:${nagValue(stack.region, 'Region')}:${nagValue(stack.account, 'AccountId')}:${kind}/*]`,
        reason:
          'SendTextMessage names the origination identity by its value (SMS_ORIGINATION_IDENTITY: a phone number, ' +
          'sender id or pool), whose ARN holds an id End User Messaging assigns when it is provisioned outside ' +
          'this app; the grant is that one action on origination identities of this account and region only.',
      });
    }
  }
}
