import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { Construct } from 'constructs';
import { STAFF_ROLES, type StaffRole } from '../functions/http/route-table';
import type { StaffAuthSettings } from './constructs/function';

export interface AuthStackProps extends StackProps {
  /**
   * The staff console's sign-in (lib/web-stack.ts): the site's origin for the OAuth callback and sign-out
   * URLs, and the hosted UI domain prefix. Without it the client allows SRP only (no hosted UI).
   */
  readonly console?: { readonly siteOrigin: string; readonly domainPrefix: string };
}

/** Lower precedence wins when a user is in several groups (Cognito's `cognito:preferred_role`). */
const GROUP_PRECEDENCE: Record<StaffRole, number> = { admin: 0, finance: 10, support: 20, ops: 30 };

const GROUP_DESCRIPTION: Record<StaffRole, string> = {
  admin: 'Platform administrators: programs, merchants, API keys, every card operation',
  support: 'Customer care: card look-ups and card operations (load, block, adjust...)',
  finance: 'Finance: read access to programs, cards and transactions, exports',
  ops: 'Operations: read access for incident handling',
};

/**
 * Staff identities of one region: a Cognito user pool (invitation only, MFA required, Plus tier with
 * threat protection enforced), one group per staff role of the route table, and the console's app
 * client. The handlers verify Cognito ID tokens against the pool's JWKS (see `staffAuth`).
 */
export class AuthStack extends Stack {
  readonly userPool: cognito.UserPool;
  readonly consoleClient: cognito.UserPoolClient;
  readonly groups: Record<StaffRole, cognito.UserPoolGroup>;
  /** Issuer, JWKS URL and audience for functions/config.ts STAFF_*. */
  readonly staffAuth: StaffAuthSettings;
  /** `https://<prefix>.auth.<region>.amazoncognito.com` when the console's sign-in is configured. */
  readonly hostedUiBaseUrl: string | undefined;

  constructor(scope: Construct, id: string, props: AuthStackProps) {
    super(scope, id, { terminationProtection: true, ...props });

    this.userPool = new cognito.UserPool(this, 'StaffUserPool', {
      // Staff are invited by an admin; nobody signs themselves up for a back-office role.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 12,
      },
      // Staff can move money (adjust, load) and manage API keys: a password alone is not enough.
      // TOTP only: SMS is phishable and SIM-swappable, and needs an SNS role.
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Plus tier: compromised-credential detection and adaptive authentication, enforced. The pool holds
      // a few dozen staff, so the per-MAU price is negligible next to the risk it covers.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const groups: Partial<Record<StaffRole, cognito.UserPoolGroup>> = {};
    for (const role of STAFF_ROLES) {
      groups[role] = new cognito.UserPoolGroup(this, `Group-${role}`, {
        userPool: this.userPool,
        groupName: role,
        description: GROUP_DESCRIPTION[role],
        precedence: GROUP_PRECEDENCE[role],
      });
    }
    this.groups = groups as Record<StaffRole, cognito.UserPoolGroup>;

    const signIn = props.console;
    this.consoleClient = this.userPool.addClient('StaffConsoleClient', {
      userPoolClientName: 'staff-console',
      // A browser app: no client secret; SRP so the password never leaves the browser.
      generateSecret: false,
      authFlows: { userSrp: true },
      // The console signs in through the hosted UI (password + TOTP, as the pool requires) with the
      // authorization code flow; the console always sends a PKCE S256 challenge (web/src/console/auth.ts).
      // No implicit flow: tokens never travel in URLs.
      ...(signIn
        ? {
            oAuth: {
              flows: { authorizationCodeGrant: true },
              scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
              callbackUrls: [`${signIn.siteOrigin}/console/callback`],
              logoutUrls: [`${signIn.siteOrigin}/console/`],
            },
            supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
          }
        : { disableOAuth: true }),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });

    if (signIn) {
      const domain = this.userPool.addDomain('HostedUi', {
        cognitoDomain: { domainPrefix: signIn.domainPrefix },
      });
      this.hostedUiBaseUrl = domain.baseUrl();
      new CfnOutput(this, 'StaffHostedUiUrl', { value: this.hostedUiBaseUrl });
    }

    const issuer = `https://cognito-idp.${this.region}.amazonaws.com/${this.userPool.userPoolId}`;
    this.staffAuth = {
      issuer,
      jwksUrl: `${issuer}/.well-known/jwks.json`,
      // The `aud` claim of the pool's ID tokens (access tokens carry it as `client_id`).
      audience: this.consoleClient.userPoolClientId,
    };

    new CfnOutput(this, 'StaffUserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'StaffConsoleClientId', { value: this.consoleClient.userPoolClientId });
    new CfnOutput(this, 'StaffJwtIssuer', { value: issuer });
  }
}
