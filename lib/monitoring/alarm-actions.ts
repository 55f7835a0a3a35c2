import { Annotations, type IAspect } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';

/**
 * Every alarm of a region reaches people: this aspect, added to each stack of the region, gives every
 * CloudWatch alarm the region's alarm topic as its ALARM and OK action (OK too, so whoever was paged
 * hears that it cleared), and fails the synth for an alarm whose description has no runbook link.
 */
export class AlarmActions implements IAspect {
  private readonly action: actions.SnsAction;
  private readonly done = new WeakSet<cloudwatch.Alarm>();

  constructor(topic: sns.ITopic) {
    this.action = new actions.SnsAction(topic);
  }

  visit(node: IConstruct): void {
    if (!(node instanceof cloudwatch.Alarm) || this.done.has(node)) return;
    this.done.add(node);
    node.addAlarmAction(this.action);
    node.addOkAction(this.action);
    const description = (node.node.defaultChild as cloudwatch.CfnAlarm | undefined)?.alarmDescription;
    if (!description?.includes('Runbook: ')) {
      Annotations.of(node).addError(
        'Every alarm needs a runbook link in its description: create it with opsAlarm() (lib/monitoring/ops-alarm.ts).',
      );
    }
  }
}
