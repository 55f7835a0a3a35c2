import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Annotations,
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { contentSecurityPolicy, HSTS_SECONDS, SECURITY_HEADERS } from '../web/security-headers';
import type { RegionConfig } from './config';
import { PROJECT_ROOT } from './constructs/function';

/** Where `npm run build` puts the portal and the console (git-ignored). */
export const WEB_DIST = join(PROJECT_ROOT, 'web', 'dist');

/** The Cognito hosted UI domain prefix of a region: the configured one, or one unique per account and region. */
export const authDomainPrefix = (region: RegionConfig): string =>
  region.web?.authDomainPrefix ?? `giftcard-staff-${region.region}-${Aws.ACCOUNT_ID}`;

/** The site bucket's name: known without a cross-stack reference (WebContentStack deploys into it). */
export const siteBucketName = (region: string): string => `giftcard-web-${Aws.ACCOUNT_ID}-${region}`;

export const hostedUiOrigin = (region: RegionConfig): string =>
  `https://${authDomainPrefix(region)}.auth.${region.region}.amazoncognito.com`;

/**
 * A console path without a file extension is one of its client-side routes: CloudFront serves the
 * console's page for it (the portal at `/` is a single page; e-gift claim links, `/portal/claim`, open it).
 * Assets (`/assets/...`) pass unchanged.
 */
const CONSOLE_ROUTES_FUNCTION = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if ((uri === '/console' || uri.indexOf('/console/') === 0) && uri.indexOf('.', uri.lastIndexOf('/')) === -1) {
    request.uri = '/console/index.html';
  }
  if (uri === '/portal/claim') {
    request.uri = '/index.html';
  }
  return request;
}`;

/**
 * The API origin the web apps' CSP lets them connect to, built at synth: exactly the region's API custom
 * domain (cdk.json `apiDomain`); without one, the region's execute-api hosts (see the synth warning).
 */
export function webApiOrigin(region: Pick<RegionConfig, 'region' | 'apiDomain'>): string {
  return region.apiDomain
    ? `https://${region.apiDomain.name}`
    : `https://*.execute-api.${region.region}.${Aws.URL_SUFFIX}`;
}

export interface WebStackProps extends StackProps {
  readonly region: RegionConfig;
}

/**
 * The web apps of one region: the card-holder portal at `/` and the staff console at `/console`, built
 * by Vite into web/dist, in a private S3 bucket read by CloudFront through origin access control (no
 * public bucket, no website endpoint), with security headers on every answer: a CSP allowing no inline
 * script and connecting only to this site, the region's API and the Cognito hosted UI; HSTS; no framing.
 * The files and config.json are deployed by WebContentStack, once the API and the sign-in exist.
 */
export class WebStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<the site's domain>`: the console's origin (Cognito callback URLs, the API's CORS). */
  readonly siteOrigin: string;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const { region } = props;

    const logs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // CloudFront standard logs are written with an ACL: the bucket must accept object writers' ACLs.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the access logs of the web bucket and of the CloudFront distribution; logging ' +
        'access to the log bucket itself would log into itself or need yet another bucket.',
    });

    this.bucket = new s3.Bucket(this, 'Site', {
      bucketName: siteBucketName(region.region),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'site/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const apiOrigin = webApiOrigin(region);
    if (!region.apiDomain) {
      Annotations.of(this).addWarningV2(
        'giftcard:csp-api-origin',
        `No apiDomain for ${region.region}: the web apps' CSP allows any execute-api host of the region (the API's own id is not known before the API stack, which needs this site's origin). Set apiDomain in cdk.json for an exact connect-src.`,
      );
    }
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Gift card web apps: CSP without inline script, HSTS, no framing (web/security-headers.ts)',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          override: true,
          contentSecurityPolicy: contentSecurityPolicy({
            apiOrigin,
            authOrigin: hostedUiOrigin(region),
            upgradeInsecure: true,
          }),
        },
        strictTransportSecurity: {
          override: true,
          accessControlMaxAge: Duration.seconds(HSTS_SECONDS),
          includeSubdomains: true,
          preload: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { override: true, frameOption: cloudfront.HeadersFrameOption.DENY },
        referrerPolicy: { override: true, referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: SECURITY_HEADERS['Permissions-Policy'], override: true },
          {
            header: 'Cross-Origin-Opener-Policy',
            value: SECURITY_HEADERS['Cross-Origin-Opener-Policy'],
            override: true,
          },
        ],
      },
    });

    const consoleRoutes = new cloudfront.Function(this, 'ConsoleRoutes', {
      code: cloudfront.FunctionCode.fromInline(CONSOLE_ROUTES_FUNCTION),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Serves the console page for its client-side routes',
    });
    const origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket);
    const behavior = {
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      responseHeadersPolicy: headers,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      compress: true,
    };
    const custom = region.web?.domainName && region.web.certificateArn ? region.web : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Gift card portal and staff console (${region.region})`,
      defaultRootObject: 'index.html',
      defaultBehavior: behavior,
      additionalBehaviors: {
        '/console*': {
          ...behavior,
          functionAssociations: [
            { function: consoleRoutes, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
          ],
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
      ...(custom?.domainName && custom.certificateArn
        ? {
            domainNames: [custom.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', custom.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });
    this.siteOrigin = `https://${custom?.domainName ?? this.distribution.distributionDomainName}`;

    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The portal serves card holders wherever the retailer sells gift cards and the console serves staff ' +
          'who travel; which countries to block is the retailer’s decision, not a default of this stack.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves static files only (no origin logic to attack); every request that reads or ' +
          'changes data goes to the regional API, which has its own WAF web ACL (lib/constructs/web-acl.ts). A ' +
          'CloudFront WAF would have to live in us-east-1, outside this region’s stack set.',
      },
      ...(custom
        ? []
        : [
            {
              id: 'AwsSolutions-CFR4',
              reason:
                'Without a custom domain the distribution uses the default *.cloudfront.net certificate, whose ' +
                'minimum protocol CloudFront fixes (TLSv1); with web.domainName and certificateArn in the ' +
                'region config the distribution requires TLSv1.2_2021.',
            },
          ]),
    );

    new CfnOutput(this, 'SiteUrl', { value: this.siteOrigin });
    new CfnOutput(this, 'ConsoleUrl', { value: `${this.siteOrigin}/console` });
  }
}

export interface WebContentStackProps extends StackProps {
  readonly site: WebStack;
  readonly apiUrl: string;
  readonly hostedUiBaseUrl: string;
  readonly consoleClientId: string;
  /** @default web/dist of the project */
  readonly distDir?: string;
}

/**
 * The web apps' files and their config.json (the API's URL and the sign-in), deployed into the site
 * bucket once the API and the Cognito client exist; CloudFront's cache is invalidated on change.
 * `npm run build` must run first (cdk.json's app does): without web/dist only config.json is deployed.
 */
export class WebContentStack extends Stack {
  constructor(scope: Construct, id: string, props: WebContentStackProps) {
    super(scope, id, props);
    const dist = props.distDir ?? WEB_DIST;
    const config = {
      apiBaseUrl: props.apiUrl.replace(/\/+$/, ''),
      auth: {
        provider: 'cognito',
        authorizeUrl: `${props.hostedUiBaseUrl}/oauth2/authorize`,
        tokenUrl: `${props.hostedUiBaseUrl}/oauth2/token`,
        logoutUrl: `${props.hostedUiBaseUrl}/logout`,
        clientId: props.consoleClientId,
        scopes: 'openid email profile',
      },
    };
    const deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      // By name: its grants then name the bucket, not a cross-stack output.
      destinationBucket: s3.Bucket.fromBucketName(this, 'Site', siteBucketName(this.region)),
      sources: [
        ...(existsSync(join(dist, 'index.html')) ? [s3deploy.Source.asset(dist)] : []),
        s3deploy.Source.jsonData('config.json', config),
      ],
      // Files of older builds stay for a while (the bucket is versioned): pages still open keep their assets.
      prune: false,
      distribution: props.site.distribution,
      distributionPaths: ['/index.html', '/config.json', '/console*'],
      memoryLimit: 512,
    });
    acknowledgeDeploymentHelper(this, deployment);
  }
}

/** cdk-nag findings on the BucketDeployment's CDK-provided helper function and its role, with reasons. */
function acknowledgeDeploymentHelper(stack: Stack, _deployment: s3deploy.BucketDeployment): void {
  const reason = {
    iam4:
      'The CDK BucketDeployment helper function (a CDK singleton) uses the AWS-managed ' +
      'AWSLambdaBasicExecutionRole for its own log group; it runs only during deployments.',
    iam5:
      'The CDK BucketDeployment helper copies the build from the CDK asset bucket into the site bucket and ' +
      'invalidates the distribution: object-level actions on those two buckets need the /* resource, and ' +
      'CloudFront invalidation takes no resource narrower than the distribution.',
    l1: 'The runtime of the CDK BucketDeployment helper is chosen by aws-cdk-lib, which keeps it current.',
  };
  const wildcards = [
    ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map(
      (action) => `Action::${action}`,
    ),
    'Resource::*',
    `Resource::arn:aws:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${stack.region}/*`,
    `Resource::arn:aws:s3:::giftcard-web-<AWS::AccountId>-${stack.region}/*`,
  ];
  for (const construct of stack.node.findAll()) {
    if (!/Custom::CDKBucketDeployment[^/]*$/.test(construct.node.path)) continue;
    Validations.of(construct).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: reason.iam4,
      },
      ...wildcards.map((finding) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason: reason.iam5 })),
      { id: 'AwsSolutions-L1', reason: reason.l1 },
    );
  }
}
