import { type App, Aspects, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AlarmsStack } from './alarms-stack';
import { ApiHandlersStack } from './api-handlers-stack';
import { ApiStack } from './api-stack';
import { AuthStack } from './auth-stack';
import { type DeploymentConfig, parseDeploymentConfig, type RegionConfig } from './config';
import { grantDelivery } from './constructs/delivery';
import type { FunctionRuntime } from './constructs/function';
import { usePortalBaseUrl } from './constructs/function';
import { DataStack } from './data-stack';
import { ExportsStack } from './exports-stack';
import { IssuanceStack } from './issuance-stack';
import { AlarmActions } from './monitoring/alarm-actions';
import { MonitoringStack } from './monitoring-stack';
import { ProductionStack } from './production-stack';
import { SchedulesStack } from './schedules-stack';
import { StreamsStack } from './streams-stack';
import { authDomainPrefix, WebContentStack, WebStack, webApiOrigin } from './web-stack';

export const PROJECT_TAG = 'giftcard';

/**
 * The stacks of one region and stage. Deploy order: alarms, data, auth, exports, production, issuance, then the API's handlers, api,
 * streams and schedules, then monitoring (CDK orders them).
 */
export interface RegionStacks {
  readonly config: RegionConfig;
  readonly alarms: AlarmsStack;
  readonly monitoring: MonitoringStack;
  readonly data: DataStack;
  readonly auth: AuthStack;
  readonly apiHandlers: ApiHandlersStack;
  readonly api: ApiStack;
  readonly streams: StreamsStack;
  readonly schedules: SchedulesStack;
  readonly exports: ExportsStack;
  readonly production: ProductionStack;
  readonly issuance: IssuanceStack;
  readonly web: WebStack;
  readonly webContent: WebContentStack;
}

export interface BuildOptions {
  /** @default parsed from the app's context (`regions`, `account`) */
  readonly config?: DeploymentConfig;
  /** Lambda sources directory. @default <repo>/functions */
  readonly functionsDir?: string;
  /** Register the cdk-nag AwsSolutions checks. @default true */
  readonly nag?: boolean;
  /** The built web apps. @default <repo>/web/dist */
  readonly webDistDir?: string;
}

/**
 * `GiftCard-<component>-<region>-<stage>`: the stage in every stack name, so stages share an account and
 * region (`npx cdk deploy 'GiftCard-*-eu-west-1-staging'`, or `npm run deploy`).
 */
export const stackName = (component: string, region: string, stage: string): string =>
  `GiftCard-${component}-${region}-${stage}`;

/** Reads the deployment configuration from the app's context (cdk.json, or `-c` on the command line). */
export function configFromContext(app: App): DeploymentConfig {
  return parseDeploymentConfig({
    regions: app.node.tryGetContext('regions'),
    account: app.node.tryGetContext('account'),
    stage: app.node.tryGetContext('stage'),
    stages: app.node.tryGetContext('stages'),
    deployRegion: app.node.tryGetContext('deployRegion'),
  });
}

/**
 * Builds the whole platform into `app`: one stack set per configured region of the configured stage
 * (GiftCard-{Alarms,Data,Auth,Exports,Production,Issuance,ApiHandlers,Api,Streams,Schedules,Monitoring}-<region>-<stage>), gives every
 * alarm the region's alarm topic, tags everything and registers the cdk-nag AwsSolutions checks.
 */
export function buildGiftCardApp(app: App, options: BuildOptions = {}): RegionStacks[] {
  const config = options.config ?? configFromContext(app);

  const sets = config.regions.map((region) => {
    const env = { account: region.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: region.region };
    const describe = (what: string) =>
      `Gift card platform ${region.region} ${region.stage} (region code ${region.regionCode}): ${what}`;
    const name = (component: string) => stackName(component, region.region, region.stage);

    const alarms = new AlarmsStack(app, name('Alarms'), {
      env,
      region,
      description: describe('alarm topic and its subscribers'),
    });
    const data = new DataStack(app, name('Data'), {
      env,
      region,
      description: describe('data key, single table, card-code pepper'),
    });
    const web = new WebStack(app, name('Web'), {
      env,
      region,
      description: describe('portal and staff console: private bucket, CloudFront (OAC), security headers'),
    });
    const auth = new AuthStack(app, name('Auth'), {
      env,
      console: { siteOrigin: web.siteOrigin, domainPrefix: authDomainPrefix(region) },
      description: describe('staff user pool, role groups, console client, hosted UI'),
    });
    const runtime: FunctionRuntime = {
      region,
      table: data.table,
      pepperSecret: data.pepperSecret,
      staffAuth: auth.staffAuth,
      walletSecrets: {
        apnsKey: data.apnsKeySecret,
        googleServiceAccount: data.googleServiceAccountSecret,
        applePassCertificates: data.applePassSecret,
      },
      functionsDir: options.functionsDir,
      ...(data.delivery ? { delivery: data.delivery } : {}),
      // E-gift claim links open the portal (issue #19).
      portalBaseUrl: web.siteOrigin,
    };
    const exports = new ExportsStack(app, name('Exports'), {
      env,
      runtime,
      description: describe('finance exports: bucket, state machine, monthly schedule, alarms'),
    });
    const production = new ProductionStack(app, name('Production'), {
      env,
      runtime,
      description: describe('physical card production: printer file bucket, production worker'),
    });
    const issuance = new IssuanceStack(app, name('Issuance'), {
      env,
      runtime,
      description: describe('bulk issuance bucket and runner, SES delivery events consumer'),
    });
    const apiHandlers = new ApiHandlersStack(app, name('ApiHandlers'), {
      env,
      runtime,
      ...(region.apiDomain ? { apiDomain: region.apiDomain } : {}),
      consoleOrigin: web.siteOrigin,
      description: describe('API route group functions, their canary deployments and alarms'),
    });
    const api = new ApiStack(app, name('Api'), {
      env,
      runtime,
      handlers: apiHandlers,
      ...(region.usagePlans ? { usagePlans: region.usagePlans } : {}),
      ...(region.apiDomain ? { apiDomain: region.apiDomain } : {}),
      consoleOrigin: web.siteOrigin,
      // One method per route plus a CORS preflight per resource: written without indentation, the template
      // stays well inside CloudFormation's 1 MB.
      suppressTemplateIndentation: true,
      description: describe('REST API, authorizer, usage plans, WAF'),
    });
    const webContent = new WebContentStack(app, name('WebContent'), {
      env,
      site: web,
      // The API's custom domain when the region has one: the CSP's connect-src names exactly that origin.
      apiUrl: region.apiDomain ? webApiOrigin(region) : api.api.url,
      hostedUiBaseUrl: auth.hostedUiBaseUrl ?? '',
      consoleClientId: auth.consoleClient.userPoolClientId,
      ...(options.webDistDir ? { distDir: options.webDistDir } : {}),
      description: describe('portal and staff console files and config.json'),
    });
    const streams = new StreamsStack(app, name('Streams'), {
      env,
      runtime,
      description: describe('table stream consumers, DLQs, alarms'),
    });
    const schedules = new SchedulesStack(app, name('Schedules'), {
      env,
      runtime,
      description: describe('scheduled jobs, EventBridge Scheduler schedules, DLQs, alarms'),
    });

    // POST /v1/exports starts the state machine; GET signs download links for its files.
    exports.grantApi(apiHandlers.functions.exports);
    // POST /v1/production/orders starts the worker; downloads sign links to the printer file parts.
    production.grantApi(apiHandlers.functions.production);
    // Bulk batches: upload and result links, validation reads, starting the runner (issue #19).
    issuance.grantBulkApi(apiHandlers.functions.bulk);
    // The bulk-resume job re-invokes the runner of a batch whose progress stood still.
    for (const job of schedules.jobs.filter((candidate) => candidate.definition.startsBulkRuns)) {
      issuance.grantBulkResume(job.fn);
    }
    // E-gift orders sent now, resends: mail and SMS with claim links to the portal.
    grantDelivery(apiHandlers.functions.delivery, runtime);
    usePortalBaseUrl(apiHandlers.functions.delivery, runtime);

    const monitoring = new MonitoringStack(app, name('Monitoring'), {
      env,
      region,
      data,
      api,
      streams,
      schedules,
      exports,
      description: describe('dashboard; DynamoDB, WAF and export-deadline alarms'),
    });

    const stacks = {
      alarms,
      data,
      auth,
      exports,
      production,
      issuance,
      apiHandlers,
      api,
      streams,
      schedules,
      monitoring,
      web,
      webContent,
    };
    const alarmActions = new AlarmActions(alarms.topic);
    for (const [component, stack] of Object.entries(stacks)) {
      Tags.of(stack).add('component', component);
      Tags.of(stack).add('region-code', region.regionCode);
      Tags.of(stack).add('stage', region.stage);
      Aspects.of(stack).add(alarmActions);
    }
    return { config: region, ...stacks };
  });

  Tags.of(app).add('project', PROJECT_TAG);
  Tags.of(app).add('managed-by', 'cdk');

  if (options.nag ?? true) {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
    );
  }
  return sets;
}
