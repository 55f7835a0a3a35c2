import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  CognitoIdentityProviderClient,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createStaff, parseCreateStaff } from '../../local/ops/create-staff';

/** `npm run ops -- create-staff`: Cognito's admin API cannot run locally, so it is mocked here. */
const cognito = mockClient(CognitoIdentityProviderClient);
const POOL = 'us-east-1_AbC123xyz';

afterEach(() => cognito.reset());

describe('create-staff', () => {
  it('creates the first admin with a verified e-mail (Cognito sends the invitation) and adds the admin group', async () => {
    cognito.on(AdminCreateUserCommand).resolves({ User: { Username: 'uuid-1' } });
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    const client = new CognitoIdentityProviderClient({ region: 'us-east-1' });

    const result = await createStaff(client, {
      userPoolId: POOL,
      email: 'ada@retailer.example',
      role: 'admin',
    });

    expect(result).toEqual({ created: true, username: 'uuid-1' });
    const [create] = cognito.commandCalls(AdminCreateUserCommand);
    expect(create?.args[0].input).toEqual({
      UserPoolId: POOL,
      Username: 'ada@retailer.example',
      UserAttributes: [
        { Name: 'email', Value: 'ada@retailer.example' },
        { Name: 'email_verified', Value: 'true' },
      ],
      DesiredDeliveryMediums: ['EMAIL'],
    });
    // No password is chosen here: Cognito generates the temporary one and the user sets up TOTP.
    expect(create?.args[0].input).not.toHaveProperty('TemporaryPassword');
    expect(cognito.commandCalls(AdminAddUserToGroupCommand).map((call) => call.args[0].input)).toEqual([
      { UserPoolId: POOL, Username: 'uuid-1', GroupName: 'admin' },
    ]);
  });

  it('keeps an existing user as is (no second invitation) and only adds the group', async () => {
    cognito
      .on(AdminCreateUserCommand)
      .rejects(new UsernameExistsException({ message: 'exists', $metadata: {} }));
    cognito.on(AdminGetUserCommand).resolves({ Username: 'uuid-2' });
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    const client = new CognitoIdentityProviderClient({ region: 'us-east-1' });

    const result = await createStaff(client, {
      userPoolId: POOL,
      email: 'bo@retailer.example',
      role: 'finance',
    });

    expect(result).toEqual({ created: false, username: 'uuid-2' });
    expect(cognito.commandCalls(AdminAddUserToGroupCommand)[0]?.args[0].input).toEqual({
      UserPoolId: POOL,
      Username: 'uuid-2',
      GroupName: 'finance',
    });
  });

  it('refuses a bad e-mail, an unknown role or a missing pool id before calling Cognito', () => {
    expect(() => parseCreateStaff(['--email', 'nope', '--role', 'admin', '--user-pool-id', POOL])).toThrow(
      /--email/,
    );
    expect(() =>
      parseCreateStaff(['--email', 'a@b.example', '--role', 'root', '--user-pool-id', POOL]),
    ).toThrow(/--role must be one of admin, support, finance, ops/);
    expect(() => parseCreateStaff(['--email', 'a@b.example', '--role', 'ops'])).toThrow(/--user-pool-id/);
    expect(
      parseCreateStaff([
        '--email',
        'A@B.example',
        '--role',
        'ops',
        '--user-pool-id',
        POOL,
        '--region',
        'eu-west-1',
      ]),
    ).toEqual({ email: 'a@b.example', role: 'ops', userPoolId: POOL, region: 'eu-west-1' });
    expect(cognito.calls()).toHaveLength(0);
  });
});
