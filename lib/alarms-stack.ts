import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { RegionConfig } from './config';

export interface AlarmsStackProps extends StackProps {
  readonly region: RegionConfig;
}

/**
 * Where the alarms of one region and stage go: one KMS-encrypted SNS topic, TLS only, that CloudWatch may
 * publish to, with the subscribers of cdk.json's `alarms`: e-mail addresses and Slack channels through AWS
 * Chatbot (AWS's own Slack integration: no webhook URL or token to keep, the workspace is authorised once
 * per account in the Chatbot console). Deployed before every other stack of the region, which attach it to
 * their alarms (lib/monitoring/alarm-actions.ts).
 */
export class AlarmsStack extends Stack {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmsStackProps) {
    super(scope, id, props);
    const { region } = props;

    this.key = new kms.Key(this, 'AlarmTopicKey', {
      description: `Gift card alarm topic (${region.stage}, ${this.region})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch encrypts the notifications it publishes to the topic with this key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Gift card alarms ${region.stage} ${this.region}`,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*`,
          },
        },
      }),
    );

    for (const email of region.alarms.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    region.alarms.slack.forEach((slack, index) => {
      new chatbot.SlackChannelConfiguration(this, `Slack-${index}`, {
        slackChannelConfigurationName: `giftcard-${region.stage}-${this.region}-alarms-${index}`,
        slackWorkspaceId: slack.workspaceId,
        slackChannelId: slack.channelId,
        notificationTopics: [this.topic],
        // Notifications only: whoever types in the channel can read CloudWatch, nothing else.
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchReadOnlyAccess')],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    });

    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn });
  }
}
