import { spawnSync } from 'node:child_process';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseDeploymentConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/function';
import { buildAllRegions, buildTestApp, CDK_JSON, envOf, resourcesOf } from './build';

/** CloudFormation allows 500 resources per stack; every stack keeps 50 of them free. */
const STACK_RESOURCE_BUDGET = 450;

const US = { region: 'us-east-1', regionCode: '1', defaultCurrency: 'USD', timeZone: 'America/New_York' };
const EU = { region: 'eu-west-1', regionCode: '2', defaultCurrency: 'EUR', timeZone: 'Europe/Dublin' };

describe('cdk.json', () => {
  it('runs bin/app.ts with tsx and configures at least two regions that parse', () => {
    // The web apps are built first, so what CDK deploys to the site bucket is the current source.
    expect(CDK_JSON.app).toBe(
      'npx vite build --config web/vite.config.ts --logLevel warn && npx tsx bin/app.ts',
    );
    const config = parseDeploymentConfig({ regions: CDK_JSON.context.regions });
    expect(config.regions.length).toBeGreaterThanOrEqual(2);
  });
});

describe('one stack set per region', () => {
  it('builds Data, Auth, Exports, Issuance, ApiHandlers, Api, Streams and Schedules stacks for each region of cdk.json, in their region, each with room under CloudFormation’s 500 resources', () => {
    // cdk.json's regions as they are (custom domains included): what `cdk synth` builds.
    const { app, sets } = buildAllRegions();
    // Resolves the cross-stack references, which is what creates the stack dependencies; refuses a
    // stack over 500 resources.
    const assembly = app.synth();
    for (const artifact of assembly.stacks) {
      const resources = Object.keys((artifact.template as { Resources?: object }).Resources ?? {});
      // Headroom for the next routes and functions: when this fails, split the stack (as the API's
      // handlers were split from its routes), do not raise the figure.
      expect(resources.length, artifact.stackName).toBeLessThanOrEqual(STACK_RESOURCE_BUDGET);
    }
    expect(sets.map((set) => set.config.region)).toEqual(['us-east-1', 'eu-west-1']);
    const stacks = app.node.children.filter((child): child is Stack => child instanceof Stack);
    expect(stacks.map((stack) => stack.stackName).sort()).toEqual(
      [
        'GiftCard-Alarms-us-east-1-prod',
        'GiftCard-Data-us-east-1-prod',
        'GiftCard-Auth-us-east-1-prod',
        'GiftCard-Exports-us-east-1-prod',
        'GiftCard-Production-us-east-1-prod',
        'GiftCard-Issuance-us-east-1-prod',
        'GiftCard-ApiHandlers-us-east-1-prod',
        'GiftCard-Api-us-east-1-prod',
        'GiftCard-Streams-us-east-1-prod',
        'GiftCard-Schedules-us-east-1-prod',
        'GiftCard-Monitoring-us-east-1-prod',
        'GiftCard-Alarms-eu-west-1-prod',
        'GiftCard-Data-eu-west-1-prod',
        'GiftCard-Auth-eu-west-1-prod',
        'GiftCard-Exports-eu-west-1-prod',
        'GiftCard-Production-eu-west-1-prod',
        'GiftCard-Issuance-eu-west-1-prod',
        'GiftCard-ApiHandlers-eu-west-1-prod',
        'GiftCard-Api-eu-west-1-prod',
        'GiftCard-Streams-eu-west-1-prod',
        'GiftCard-Schedules-eu-west-1-prod',
        'GiftCard-Monitoring-eu-west-1-prod',
        'GiftCard-Web-us-east-1-prod',
        'GiftCard-WebContent-us-east-1-prod',
        'GiftCard-Web-eu-west-1-prod',
        'GiftCard-WebContent-eu-west-1-prod',
      ].sort(),
    );
    for (const set of sets) {
      for (const stack of [
        set.alarms,
        set.data,
        set.auth,
        set.exports,
        set.production,
        set.apiHandlers,
        set.api,
        set.streams,
        set.schedules,
        set.web,
        set.webContent,
        set.monitoring,
      ]) {
        expect(stack.region).toBe(set.config.region);
      }
      // Compute stacks depend on their own region's stateful stacks and its alarm topic only.
      const deps = (stack: Stack) => stack.dependencies.map((dep) => dep.stackName).sort();
      expect(deps(set.alarms)).toEqual([]);
      expect(deps(set.data)).toEqual([]);
      expect(deps(set.web)).toEqual([]);
      // The console's sign-in (callback URLs) and the API's CORS name the web site's origin.
      expect(deps(set.auth)).toEqual([set.web.stackName]);
      const base = [set.alarms.stackName, set.auth.stackName, set.data.stackName];
      // The handlers start export executions (POST /v1/exports), production workers (POST
      // /v1/production/orders) and bulk runs (their bucket's key); the API invokes the handlers.
      expect(deps(set.apiHandlers)).toEqual(
        [
          ...base,
          set.exports.stackName,
          set.production.stackName,
          set.issuance.stackName,
          set.web.stackName,
        ].sort(),
      );
      expect(deps(set.api)).toEqual([...base, set.apiHandlers.stackName, set.web.stackName].sort());
      // The files and config.json go out once the sign-in exists; config.json names the region's API
      // domain (cdk.json `apiDomain`), or without one the API's URL, and then the API stack too.
      expect(deps(set.webContent)).toEqual(
        [...(set.config.apiDomain ? [] : [set.api.stackName]), set.auth.stackName, set.web.stackName].sort(),
      );
      expect(deps(set.exports)).toEqual([...base].sort());
      expect(deps(set.production)).toEqual([...base].sort());
      expect(deps(set.streams)).toEqual([...base].sort());
      // The e-gift sender's claim links name the portal's origin (the web stack's).
      expect(deps(set.schedules)).toEqual([...base, set.web.stackName].sort());
      // The bulk runner's claim links likewise; the SES events consumer subscribes to the data stack's topic.
      expect(deps(set.issuance)).toEqual([...base, set.web.stackName].sort());
      // The dashboard reads every stack of its region.
      expect(deps(set.monitoring)).toEqual(
        [set.alarms, set.data, set.api, set.streams, set.schedules, set.exports]
          .map((s) => s.stackName)
          .sort(),
      );
    }

    // The region settings reach the functions: region code and currency differ per region.
    const eu = sets[1];
    if (!eu) throw new Error('no eu set');
    const env = envOf(
      Object.values(resourcesOf(Template.fromStack(eu.apiHandlers), 'AWS::Lambda::Function'))[0],
    );
    expect(env).toMatchObject({
      REGION_CODE: '2',
      DEFAULT_CURRENCY: 'EUR',
      REPORTING_TIME_ZONE: 'Europe/Dublin',
    });
    expect(JSON.stringify(env.STAFF_JWT_ISSUER)).toContain('https://cognito-idp.eu-west-1.amazonaws.com/');
    expect(JSON.stringify(env.TABLE_NAME)).toContain('GiftCard-Data-eu-west-1-prod');
  }, 300_000);

  it('tags every taggable resource with the project, component and region code', () => {
    const { sets } = buildTestApp({ regions: [EU], nag: false });
    const set = sets[0];
    if (!set) throw new Error('no set');
    const table = Object.values(Template.fromStack(set.data).findResources('AWS::DynamoDB::Table'))[0];
    expect(table?.Properties?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'project', Value: 'giftcard' },
        { Key: 'component', Value: 'data' },
        { Key: 'region-code', Value: '2' },
        { Key: 'managed-by', Value: 'cdk' },
      ]),
    );
  });
});

describe('region configuration', () => {
  const parse = (regions: unknown, account?: unknown) => () => parseDeploymentConfig({ regions, account });

  it('accepts the documented shape, JSON strings from -c, and a top-level account', () => {
    const config = parseDeploymentConfig({
      regions: JSON.stringify([US, { ...EU, account: '210987654321' }]),
      account: '123456789012',
    });
    expect(config.regions.map((region) => [region.region, region.account, region.logLevel])).toEqual([
      ['us-east-1', '123456789012', 'INFO'],
      ['eu-west-1', '210987654321', 'INFO'],
    ]);
  });

  it('names the bad field when the configuration is malformed', () => {
    expect(parse(undefined)).toThrow(/Missing CDK context "regions"/);
    expect(parse([])).toThrow(/at least one region/);
    expect(parse('not json')).toThrow(ConfigError);
    expect(parse([{ ...US, regionCode: '12' }])).toThrow(/regions\[0\]\.regionCode: must be a single digit/);
    expect(parse([{ ...US, region: 'mars-1' }])).toThrow(/regions\[0\]\.region/);
    expect(parse([{ ...US, defaultCurrency: 'usd' }])).toThrow(/regions\[0\]\.defaultCurrency/);
    expect(parse([{ ...US, timeZone: 'Europe/Atlantis' }])).toThrow(
      /regions\[0\]\.timeZone: must be an IANA time zone/,
    );
    expect(parse([{ ...US, colour: 'blue' }])).toThrow(/regions\[0\]/);
    expect(parse([US, { ...EU, regionCode: '1' }])).toThrow(
      /regions\[1\]\.regionCode: duplicates regions\[0\]/,
    );
    expect(parse([US, { ...US, regionCode: '3' }])).toThrow(/regions\[1\]\.region: duplicates/);
    expect(parse([US], '1234')).toThrow(/"account"/);
    expect(parse([US], 123456789012)).toThrow(/"account"/);
  });

  it('bin/app.ts exits with the message, not a stack trace, on a bad configuration', () => {
    const result = spawnSync('npx', ['tsx', 'bin/app.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ regions: [{ ...US, regionCode: 'x' }] }) },
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid CDK context "regions"');
    expect(result.stderr).toContain('regions[0].regionCode');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('stage and per-region settings', () => {
  it('defaults to prod, lays the stage overlay over its regions, and puts the stage on every region', () => {
    const config = parseDeploymentConfig({
      regions: [US, EU],
      stage: 'staging',
      stages: {
        prod: {},
        staging: { account: '111122223333', regions: { 'eu-west-1': { logLevel: 'DEBUG' } } },
      },
    });
    expect(config.stage).toBe('staging');
    expect(
      config.regions.map((region) => [region.region, region.stage, region.logLevel, region.account]),
    ).toEqual([
      ['us-east-1', 'staging', 'INFO', '111122223333'],
      ['eu-west-1', 'staging', 'DEBUG', '111122223333'],
    ]);
    expect(parseDeploymentConfig({ regions: [US] }).stage).toBe('prod');
  });

  it('refuses an unknown or malformed stage and an overlay naming no region', () => {
    expect(() => parseDeploymentConfig({ regions: [US], stage: 'prdo', stages: { prod: {} } })).toThrow(
      /Unknown stage "prdo"/,
    );
    expect(() => parseDeploymentConfig({ regions: [US], stage: 'Prod_1' })).toThrow(
      /Invalid CDK context "stage"/,
    );
    expect(() =>
      parseDeploymentConfig({ regions: [US], stages: { prod: { regions: { 'eu-west-l': {} } } } }),
    ).toThrow(/not an AWS region name/);
  });

  it('checks the settings a region may set: wallet origins, issuer name, rate limits, alarm subscribers', () => {
    const region = parseDeploymentConfig({
      regions: [
        {
          ...US,
          googleWalletOrigins: ['https://shop.example.com'],
          googleWalletIssuerName: 'Example Gifts',
          rateLimits: { failuresPerCaller: 120 },
          alarms: {
            emails: ['oncall@example.com'],
            slack: [{ workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' }],
          },
        },
      ],
    }).regions[0];
    expect(region).toMatchObject({
      googleWalletOrigins: ['https://shop.example.com'],
      rateLimits: { failuresPerCaller: 120 },
      alarms: { emails: ['oncall@example.com'] },
    });
    const bad = (fields: Record<string, unknown>) => () =>
      parseDeploymentConfig({ regions: [{ ...US, ...fields }] });
    expect(bad({ googleWalletOrigins: ['https://shop.example.com/path'] })).toThrow(
      /googleWalletOrigins\[0\]/,
    );
    expect(bad({ rateLimits: { failuresPerCaller: 0 } })).toThrow(/rateLimits\.failuresPerCaller/);
    expect(bad({ alarms: { emails: ['not-an-address'] } })).toThrow(/alarms\.emails\[0\]/);
  });

  it('hands the region settings to every function and subscribes the alarm addresses', () => {
    const { sets } = buildTestApp({
      nag: false,
      regions: [
        {
          ...US,
          googleWalletOrigins: ['https://shop.example.com', 'https://gifts.example.com'],
          googleWalletIssuerName: 'Example Gifts',
          rateLimits: { failuresPerCaller: 3 },
          alarms: { emails: ['oncall@example.com'] },
        },
      ],
    });
    const set = sets[0];
    if (!set) throw new Error('no set');
    const apiFunctions = [set.apiHandlers, set.api].flatMap((stack) =>
      Object.values(resourcesOf(Template.fromStack(stack), 'AWS::Lambda::Function')),
    );
    for (const fn of apiFunctions) {
      expect(envOf(fn)).toMatchObject({
        GOOGLE_WALLET_ORIGINS: 'https://shop.example.com,https://gifts.example.com',
        GOOGLE_WALLET_ISSUER_NAME: 'Example Gifts',
        FAILED_CHECKS_LIMIT_PER_CALLER: '3',
        POWERTOOLS_METRICS_NAMESPACE: 'GiftCard/prod',
      });
    }
    Template.fromStack(set.alarms).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  }, 300_000);
});
