import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegionStacks } from '../../lib/giftcard-app';
import { buildFirstRegion, envOf, resourcesOf, template } from './build';

/** The web apps' hosting: private bucket, CloudFront with OAC, the security headers, the deployment. */
describe('web stacks', () => {
  let set: RegionStacks;
  let t: Template;

  beforeAll(() => {
    set = buildFirstRegion();
    t = template(set.web);
  });

  it('keeps the site in a private, encrypted, TLS-only bucket that only CloudFront reads (OAC)', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'site/' }),
    });
    t.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    t.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
      }),
    });
    const policies = JSON.stringify(t.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toContain('cloudfront.amazonaws.com');
    expect(policies).toContain('AWS:SourceArn');
    // No website endpoint: the bucket is never public.
    expect(JSON.stringify(t.findResources('AWS::S3::Bucket'))).not.toContain('WebsiteConfiguration');
  });

  it('serves the portal at / and the console at /console over HTTPS only, with access logs', () => {
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        CacheBehaviors: [
          Match.objectLike({
            PathPattern: '/console*',
            ViewerProtocolPolicy: 'redirect-to-https',
            FunctionAssociations: [Match.objectLike({ EventType: 'viewer-request' })],
          }),
        ],
      }),
    });
  });

  it('sends a CSP without inline script or eval, HSTS, nosniff and no framing on every answer', () => {
    const [policy] = Object.values(resourcesOf(t, 'AWS::CloudFront::ResponseHeadersPolicy'));
    const config = policy?.Properties.ResponseHeadersPolicyConfig as {
      SecurityHeadersConfig: Record<string, Record<string, unknown>>;
    };
    const security = config.SecurityHeadersConfig;
    const csp = JSON.stringify(
      Stack.of(set.web).resolve(security.ContentSecurityPolicy?.ContentSecurityPolicy),
    );
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('amazoncognito.com');
    // connect-src: this site, the region's API custom domain (cdk.json apiDomain) exactly, the sign-in.
    const connect = /connect-src ([^;]*)/.exec(csp)?.[1] ?? '';
    const apiDomain = set.config.apiDomain?.name;
    expect(apiDomain).toBeTypeOf('string');
    expect(connect.split(' ')).toContain(`https://${apiDomain}`);
    expect(connect).not.toContain('*');
    expect(security.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 63_072_000,
      IncludeSubdomains: true,
      Override: true,
    });
    expect(security.ContentTypeOptions).toMatchObject({ Override: true });
    expect(security.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    // Both behaviors carry the policy.
    const distribution = JSON.stringify(t.findResources('AWS::CloudFront::Distribution'));
    expect(distribution.match(/ResponseHeadersPolicyId/g)?.length).toBe(2);
  });

  it('deploys the build and a config.json naming the API and the hosted UI, invalidating the cache', () => {
    const content = template(set.webContent);
    content.resourceCountIs('Custom::CDKBucketDeployment', 1);
    const deployment = Object.values(resourcesOf(content, 'Custom::CDKBucketDeployment'))[0];
    expect(deployment?.Properties.DistributionPaths).toEqual(['/index.html', '/config.json', '/console*']);
    expect(JSON.stringify(deployment?.Properties.DestinationBucketName)).toContain('giftcard-web-');
  });

  it("allows the API to be called from the site's origin only (functions get it for their CORS answers)", () => {
    const functions = Object.values(resourcesOf(template(set.apiHandlers), 'AWS::Lambda::Function'));
    const origins = functions
      .map((fn) => envOf(fn).CORS_ALLOWED_ORIGIN)
      .filter((origin) => origin !== undefined);
    expect(origins.length).toBeGreaterThan(0);
    for (const origin of origins) {
      const resolved = JSON.stringify(origin);
      expect(resolved).toContain('https://');
      expect(resolved).not.toContain('*');
    }
  });

  it('keeps the web build git-ignored', () => {
    const ignore = fs.readFileSync(path.join(import.meta.dirname, '../../.gitignore'), 'utf8');
    expect(ignore.split('\n')).toEqual(expect.arrayContaining(['web/dist/', 'test-artifacts/']));
  });
});
