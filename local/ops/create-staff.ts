import { parseArgs } from 'node:util';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  CognitoIdentityProviderClient,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { STAFF_ROLES, type StaffRole } from '../../functions/http/route-table';
import { LocalRuntimeError } from '../errors';
import type { OpsArgs, OpsCommand, OpsIo } from './command';

/**
 * `npm run ops -- create-staff --email <e-mail> --role <admin|support|finance|ops> --user-pool-id <id>
 * [--region <aws region>]`: creates a staff user in a region's Cognito user pool (the first admin of a
 * fresh region, or anyone later) and puts them in the role's group. Cognito e-mails a temporary password;
 * at the first sign-in through the console's hosted UI they choose a password and set up TOTP (the pool
 * requires MFA). Running it again for an existing user only adds the group. The pool id is the
 * `StaffUserPoolId` output of the GiftCard-Auth-<region> stack.
 */
export const summary = 'create a staff user (e-mailed a temporary password) in a role group';

export interface CreateStaffInput {
  readonly userPoolId: string;
  readonly email: string;
  readonly role: StaffRole;
}

export interface CreateStaffResult {
  readonly created: boolean;
  readonly username: string;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}\.[^\s@]{2,63}$/;
const POOL_ID = /^[\w-]+_[0-9a-zA-Z]+$/;

export function parseCreateStaff(args: readonly string[]): CreateStaffInput & { region?: string } {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        email: { type: 'string' },
        role: { type: 'string' },
        'user-pool-id': { type: 'string' },
        region: { type: 'string' },
      },
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new LocalRuntimeError(`create-staff: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  const email = values.email?.trim().toLowerCase();
  if (!email || !EMAIL.test(email)) problems.push('--email must be an e-mail address');
  const role = values.role as StaffRole | undefined;
  if (!role || !STAFF_ROLES.includes(role)) problems.push(`--role must be one of ${STAFF_ROLES.join(', ')}`);
  const userPoolId = values['user-pool-id'];
  if (!userPoolId || !POOL_ID.test(userPoolId)) {
    problems.push('--user-pool-id must be the pool id (StaffUserPoolId output of GiftCard-Auth-<region>)');
  }
  if (problems.length > 0 || !email || !role || !userPoolId) {
    throw new LocalRuntimeError(`create-staff: ${problems.join('; ')}`);
  }
  return { email, role, userPoolId, ...(values.region ? { region: values.region } : {}) };
}

/**
 * Primary course: create the user with a verified e-mail (Cognito sends the invitation), then add them
 * to the role's group. An existing user is kept as is (no new invitation) and gets the group.
 */
export async function createStaff(
  client: CognitoIdentityProviderClient,
  input: CreateStaffInput,
): Promise<CreateStaffResult> {
  let created = true;
  let username = input.email;
  try {
    const out = await client.send(
      new AdminCreateUserCommand({
        UserPoolId: input.userPoolId,
        Username: input.email,
        UserAttributes: [
          { Name: 'email', Value: input.email },
          { Name: 'email_verified', Value: 'true' },
        ],
        DesiredDeliveryMediums: ['EMAIL'],
      }),
    );
    username = out.User?.Username ?? username;
  } catch (error) {
    if (!(error instanceof UsernameExistsException)) throw error;
    created = false;
    const existing = await client.send(
      new AdminGetUserCommand({ UserPoolId: input.userPoolId, Username: input.email }),
    );
    username = existing.Username ?? username;
  }
  await client.send(
    new AdminAddUserToGroupCommand({
      UserPoolId: input.userPoolId,
      Username: username,
      GroupName: input.role,
    }),
  );
  return { created, username };
}

export async function run(args: readonly string[]): Promise<void> {
  const input = parseCreateStaff(args);
  const client = new CognitoIdentityProviderClient(input.region ? { region: input.region } : {});
  try {
    const result = await createStaff(client, input);
    console.log(
      result.created
        ? `Created ${input.email} in ${input.role}: Cognito e-mailed a temporary password; MFA is set up at first sign-in.`
        : `${input.email} already existed: added to ${input.role}.`,
    );
  } finally {
    client.destroy();
  }
}

/** The command as `npm run ops` lists and runs it (local/ops/registry.ts). */
export const createStaffCommand: OpsCommand = {
  name: 'create-staff',
  summary,
  usage: [
    '--email <e-mail>          the staff member (Cognito e-mails a temporary password)',
    `--role <${STAFF_ROLES.join('|')}>`,
    '--user-pool-id <id>       the StaffUserPoolId output of the region Auth stack',
    '--region <aws region>     default: the AWS profile region',
  ].join('\n'),
  run: async (args: OpsArgs, io: OpsIo) => {
    const argv = [...args].flatMap(([name, value]) =>
      value === true ? [`--${name}`] : [`--${name}`, value],
    );
    const input = parseCreateStaff(argv);
    const client = new CognitoIdentityProviderClient(input.region ? { region: input.region } : {});
    try {
      const result = await createStaff(client, input);
      io.out(JSON.stringify({ email: input.email, role: input.role, ...result }));
      return 0;
    } finally {
      client.destroy();
    }
  },
};
