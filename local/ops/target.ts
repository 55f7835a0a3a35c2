import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DEFAULT_STAGE, STAGE_PATTERN } from '../../lib/config';
import { type OpsArgs, option, UsageError } from './command';

/** Which deployment a command acts on: `--region` and `--stage` (default prod), as `npm run deploy` takes them. */
export interface OpsTarget {
  readonly region: string;
  readonly stage: string;
}

export function targetOf(args: OpsArgs): OpsTarget {
  const region = option(args, 'region') ?? process.env.AWS_REGION;
  if (!region) throw new UsageError('--region is required (or AWS_REGION)');
  const stage = option(args, 'stage') ?? DEFAULT_STAGE;
  if (!STAGE_PATTERN.test(stage)) throw new UsageError(`--stage "${stage}" is not a stage name`);
  return { region, stage };
}

/** The stack of a component in the target (lib/giftcard-app.ts stackName). */
export const targetStack = (target: OpsTarget, component: string): string =>
  `GiftCard-${component}-${target.region}-${target.stage}`;

/** The outputs of a deployed stack by output key (CfnOutput ids with their dashes removed). */
export async function stackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<Map<string, string>> {
  const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = out.Stacks?.[0]?.Outputs ?? [];
  return new Map(
    outputs.flatMap((entry) =>
      entry.OutputKey && entry.OutputValue ? [[entry.OutputKey, entry.OutputValue] as const] : [],
    ),
  );
}

/** CfnOutput('DlqUrl-webhooks') is output key `DlqUrlwebhooks`: CloudFormation ids keep letters and digits. */
export const outputKey = (id: string): string => id.replace(/[^A-Za-z0-9]/g, '');

export function cloudFormation(target: OpsTarget): CloudFormationClient {
  return new CloudFormationClient({ region: target.region });
}
