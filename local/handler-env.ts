import { resetConfigForTests } from '../functions/config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb';
import type { StaffIssuer } from './staff-issuer';

export interface HandlerEnvironment {
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly codePepper: string;
  readonly issuer: Pick<StaffIssuer, 'issuer' | 'audience' | 'jwksJson'>;
  /** Powertools log level of the handlers; WARN keeps the console readable. */
  readonly logLevel?: string;
  readonly s3?: { readonly endpoint: string; readonly bucket: string };
  /** The wallet push stand-ins (local/apns-stand-in.ts, local/google-stand-in.ts) and their credentials. */
  readonly walletPush?: {
    readonly apnsUrl: string;
    /** The APNs stand-in's TLS certificate, trusted for APNS_URL. */
    readonly apnsCa: string;
    readonly apnsKeyJson: string;
    readonly googleApiUrl: string;
    readonly googleTokenUrl: string;
    readonly googleServiceAccountJson: string;
  };
  /** Apple Wallet passes: the certificate JSON (local/apple-certificates.ts) and the API's base URL. */
  readonly applePass?: { readonly certificatesJson: string; readonly publicBaseUrl: string };
  /** The stream poller's dead-letter files, which the ops API shows in place of SQS queues. */
  readonly dlqDir?: string;
  /**
   * Where the handlers' metrics go (embedded metric format, one JSON line per flush). Without it metrics are
   * off: stdout stays for the console.
   */
  readonly metricsFile?: string;
  /** The local stand-in for the exports' KMS signing key (local/export-signing-key.ts), PKCS#8 PEM. */
  readonly exportSigningKeyPem?: string;
  /** The delivery service's identities and the SES/SMS stand-in (local/ses-stand-in.ts) it calls. */
  readonly delivery?: {
    readonly sesUrl: string;
    readonly fromAddress: string;
    readonly configurationSet: string;
    readonly smsOriginationIdentity: string;
  };
}

/** The variables the Lambda functions get from CDK in AWS (functions/config.ts), for in-process handlers. */
export function handlerEnvironment(env: HandlerEnvironment): Record<string, string> {
  const logLevel = env.logLevel ?? 'WARN';
  return {
    TABLE_NAME: env.tableName,
    AWS_REGION: LOCAL_REGION,
    DYNAMODB_ENDPOINT: env.dynamodbEndpoint,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    CODE_PEPPER: env.codePepper,
    STAFF_JWT_ISSUER: env.issuer.issuer,
    STAFF_JWT_AUDIENCE: env.issuer.audience,
    STAFF_JWKS_JSON: env.issuer.jwksJson,
    REGION_CODE: '1',
    // The staff plan's usage key of the local gateway (local/gateway-auth.ts); a name, not a credential.
    STAFF_USAGE_KEY: 'local-staff-usage-key',
    // Webhook receivers on this machine (the tests' and a developer's) are allowed locally only.
    WEBHOOKS_ALLOW_HTTP_LOCALHOST: 'true',
    POWERTOOLS_SERVICE_NAME: 'giftcard',
    LOG_LEVEL: logLevel,
    POWERTOOLS_LOG_LEVEL: logLevel,
    // Node 20 is what runs locally; the SDK's notice about Node 22 would only clutter the console.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_NAMESPACE: 'GiftCard/local',
    ...(env.metricsFile
      ? { METRICS_LOCAL_FILE: env.metricsFile, POWERTOOLS_METRICS_DISABLED: 'false' }
      : { POWERTOOLS_METRICS_DISABLED: 'true' }),
    ...(env.s3
      ? {
          S3_ENDPOINT: env.s3.endpoint,
          EXPORT_BUCKET_NAME: env.s3.bucket,
          PRINTER_FILE_BUCKET_NAME: env.s3.bucket,
        }
      : {}),
    ...(env.walletPush
      ? {
          APNS_URL: env.walletPush.apnsUrl,
          APNS_CA: env.walletPush.apnsCa,
          APNS_KEY_JSON: env.walletPush.apnsKeyJson,
          GOOGLE_WALLET_API_URL: env.walletPush.googleApiUrl,
          GOOGLE_OAUTH_TOKEN_URL: env.walletPush.googleTokenUrl,
          GOOGLE_SERVICE_ACCOUNT_JSON: env.walletPush.googleServiceAccountJson,
        }
      : {}),
    ...(env.dlqDir ? { LOCAL_DLQ_DIR: env.dlqDir } : {}),
    ...(env.delivery
      ? {
          MAIL_FROM_ADDRESS: env.delivery.fromAddress,
          SES_CONFIGURATION_SET: env.delivery.configurationSet,
          SES_ENDPOINT: env.delivery.sesUrl,
          SMS_ORIGINATION_IDENTITY: env.delivery.smsOriginationIdentity,
          SMS_CONFIGURATION_SET: env.delivery.configurationSet,
          SMS_ENDPOINT: env.delivery.sesUrl,
        }
      : {}),
    ...(env.exportSigningKeyPem ? { EXPORT_SIGNING_KEY_PEM: env.exportSigningKeyPem } : {}),
    ...(env.applePass
      ? {
          APPLE_PASS_CERTIFICATES: env.applePass.certificatesJson,
          PUBLIC_BASE_URL: env.applePass.publicBaseUrl,
        }
      : {}),
  };
}

/** Sets the handlers' environment on this process and drops any configuration parsed before. */
export function applyHandlerEnvironment(env: HandlerEnvironment): Record<string, string> {
  const variables = handlerEnvironment(env);
  Object.assign(process.env, variables);
  resetConfigForTests();
  return variables;
}
