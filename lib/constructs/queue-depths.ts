import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { GiftCardFunction } from './function';

/**
 * What the Ops page's dead-letter depths take (functions/store/queue-depths.ts): listing the region's
 * queues whose names start with `GiftCard-` (the stacks' own, named by CloudFormation after the stack)
 * and reading their message counts. No message is read or deleted.
 */
export function grantQueueDepthReads(fn: GiftCardFunction): void {
  fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:ListQueues'], resources: ['*'] }));
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['sqs:GetQueueAttributes'],
      resources: [`arn:${Aws.PARTITION}:sqs:${Aws.REGION}:${Aws.ACCOUNT_ID}:GiftCard-*`],
    }),
  );
  Validations.of(fn.role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'sqs:ListQueues supports no resource narrower than *: it only returns queue URLs (filtered by the ' +
        'GiftCard- name prefix in the call), never messages.',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:GiftCard-*]',
      reason:
        'The dead-letter queues are named by CloudFormation after their stacks (GiftCard-<component>-<region>-' +
        'Dlq...-<suffix>), unknown until deployed and spread over three stacks; reading their attributes ' +
        '(message counts) is all this allows.',
    },
  );
}
