import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { GiftCardFunction } from './function';

/**
 * Names the region's usage plans `<prefix>-<tier>` (functions/core/usage-plans.ts usagePlanName); the stage
 * is part of it because the merchants function finds the plans by name and API key values are unique per
 * account and region.
 */
export const usagePlanPrefix = (region: string, stage: string): string => `giftcard-api-${stage}-${region}`;

const USAGE_KEY_WILDCARD_REASON =
  "The function registers merchants' usage keys in usage plans: API key and usage plan ids are generated " +
  'by API Gateway at create time (keys when a merchant is created), so the key id and, to avoid a ' +
  'dependency cycle (plans depend on the stage, the stage on the methods, the methods on this ' +
  'function), the plan id are wildcards; actions are limited to listing plans, keys and plan members, ' +
  'creating keys and adding or removing usage plan keys in this region.';

/**
 * What registering merchants' usage keys takes (functions/store/usage-keys.ts): the merchants function
 * when merchants are created or changed, and the usage-keys job that reconciles them. The function must
 * also get USAGE_PLAN_PREFIX in its environment.
 */
export function grantUsageKeyRegistration(fn: GiftCardFunction): void {
  const arn = (path: string) => `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::${path}`;
  const statements = [
    new iam.PolicyStatement({
      actions: ['apigateway:GET'],
      resources: [arn('/usageplans'), arn('/apikeys'), arn('/usageplans/*/keys')],
    }),
    new iam.PolicyStatement({ actions: ['apigateway:POST'], resources: [arn('/apikeys')] }),
    new iam.PolicyStatement({
      actions: ['apigateway:POST'],
      resources: [arn('/usageplans/*/keys')],
    }),
    new iam.PolicyStatement({
      actions: ['apigateway:DELETE'],
      resources: [arn('/usageplans/*/keys/*')],
    }),
  ];
  for (const statement of statements) fn.role.addToPrincipalPolicy(statement);
  Validations.of(fn.role).acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/*/keys]`,
      reason: USAGE_KEY_WILDCARD_REASON,
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/*/keys/*]`,
      reason: USAGE_KEY_WILDCARD_REASON,
    },
  );
}
