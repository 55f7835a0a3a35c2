import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface ApiWebAclProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** The web ACL's name (unique per account and region: it carries the stage); its metrics' WebACL dimension. */
  readonly name: string;
  /** Metric name prefix (CloudWatch). */
  readonly metricPrefix: string;
  /**
   * Requests per source IP per 5 minutes before the IP is blocked. Merchants' POS fleets and web shops
   * often call from a few NAT addresses, so this is a flood guard, not a per-client quota.
   * @default 6000 (20 requests per second sustained)
   */
  readonly rateLimitPer5Minutes?: number;
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

/**
 * Regional WAF web ACL in front of the API stage: AWS managed common rules and known bad inputs, plus
 * a rate-based rule per source IP.
 */
export class ApiWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly name: string;

  constructor(scope: Construct, id: string, props: ApiWebAclProps) {
    super(scope, id);
    const prefix = props.metricPrefix;
    this.name = props.name;
    const managed = (
      name: string,
      priority: number,
      ruleActionOverrides?: wafv2.CfnWebACL.RuleActionOverrideProperty[],
    ): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides },
      },
      visibilityConfig: visibility(`${prefix}-${name}`),
    });

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: props.name,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'Gift card API: AWS managed rules and a per-IP rate limit',
      visibilityConfig: visibility(`${prefix}-WebAcl`),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: props.rateLimitPer5Minutes ?? 6000,
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility(`${prefix}-RateLimitPerIp`),
        },
        // Point-of-sale HTTP clients frequently send no User-Agent: count those instead of blocking.
        managed('AWSManagedRulesCommonRuleSet', 1, [
          { name: 'NoUserAgent_HEADER', actionToUse: { count: {} } },
        ]),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
      ],
    });

    new wafv2.CfnWebACLAssociation(this, 'StageAssociation', {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
