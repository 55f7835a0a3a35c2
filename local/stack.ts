import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type UsagePlanOverrides, usagePlans } from '../functions/core/usage-plans';
import type { StreamConsumerDefinition } from '../functions/streams/registry';
import { type ApnsServerCertificate, type ApnsStandIn, startApnsStandIn } from './apns-stand-in';
import { loadOrCreateLocalAppleCertificates } from './apple-certificates';
import { dynamoDbClient, ensureTable, startDynamoDbLocal } from './dynamodb';
import { loadOrCreateExportSigningKey } from './export-signing-key';
import { createGatewayAuth } from './gateway-auth';
import { type GoogleStandIn, startGoogleStandIn } from './google-stand-in';
import { applyHandlerEnvironment } from './handler-env';
import {
  type ApiHandlerLoader,
  importApiHandler,
  importAuthorizerHandler,
  importStreamHandler,
  type StreamHandlerLoader,
} from './handlers';
import { startHttpServer } from './http-server';
import { consoleLog, type LocalLog } from './log';
import { type MailCatcher, startMailCatcher } from './mail-catcher';
import { loadOrCreatePushCredentials, pushCredentialsJson } from './push-credentials';
import { startS3Local } from './s3';
import { type LocalScheduler, startScheduler } from './scheduler';
import { loadOrCreateLocalSecrets } from './secrets';
import { type DemoData, seedDemo } from './seed';
import { LOCAL_DELIVERY, type SesStandIn, startSesStandIn } from './ses-stand-in';
import { createStaffIssuer, type StaffIssuer } from './staff-issuer';
import { createStreamPoller, type StreamPoller } from './stream-poller';
import { WEB_DIST } from './web/build';
import { createLocalOAuth, LOCAL_OAUTH_CLIENT_ID, type LocalOAuth } from './web/local-oauth';
import { createWebAssets } from './web/web-assets';

export const LOCAL_TABLE_NAME = 'giftcard-local';

export interface LocalStackOptions {
  /** HTTP API port, default 3000 (0: a free port). */
  readonly port?: number;
  /** DynamoDB Local port, default 8000 (0: a free port). */
  readonly dynamoPort?: number;
  /** s3rver port, default 4569 (0: a free port). */
  readonly s3Port?: number;
  /** Forget the data (tables, objects, demo.json, DLQ, stream positions); the secrets are kept. */
  readonly fresh?: boolean;
  /** Default `.local` in the working directory. */
  readonly dataDir?: string;
  /** DynamoDB Local without a database file (implies seeding on every start). */
  readonly inMemory?: boolean;
  /** Handlers' Powertools log level, default WARN. */
  readonly logLevel?: string;
  readonly tableName?: string;
  /** Use this already running DynamoDB Local instead of starting one (the test harness does). */
  readonly dynamodbEndpoint?: string;
  /** Seed (or re-mint) the demo data; default true. */
  readonly seed?: boolean;
  readonly loadApiHandler?: ApiHandlerLoader;
  /**
   * Usage plan figures over the defaults (functions/core/usage-plans.ts), as cdk.json's `usagePlans`
   * gives a region; the local gateway enforces them per usage key.
   */
  readonly usagePlans?: UsagePlanOverrides;
  /** How long the local gateway keeps an authorizer answer; default as deployed (30 s). */
  readonly authorizerCacheSeconds?: number;
  /**
   * How long a request may run before the local gateway answers 504 (and the handler's context says its
   * time is up); default API Gateway's 29 s. Tests of correctness under load raise it, so what they
   * assert does not depend on how fast the machine is that day.
   */
  readonly requestTimeoutMs?: number;
  readonly loadStreamHandler?: StreamHandlerLoader;
  /** The stream consumers to run (default all); none also means a table without a stream. */
  readonly consumers?: readonly StreamConsumerDefinition[];
  readonly pollIntervalMs?: number;
  /**
   * The poller's delay before retrying a failed batch, doubled on each retry up to `max`; default 200 ms
   * up to 5 s. Tests shorten it: they wait on the retries' outcome (poller.drain), not on the clock.
   */
  readonly streamRetryDelaysMs?: { readonly first: number; readonly max: number };
  /**
   * Whether the scheduled jobs also run on their timers (default true). Tests turn them off and run a job
   * with `scheduler.runNow`, so a sweep never lands in the middle of a case that set its clock itself.
   */
  readonly scheduleTimers?: boolean;
  /** Called once the handlers' environment is set, before any handler runs (tests reset warm state). */
  readonly onEnvironment?: () => void;
  /** The stack's own messages; `requestLog` gets one line per HTTP request. */
  readonly log?: LocalLog;
  readonly requestLog?: LocalLog;
  /** The built web apps to serve at / and /console; default web/dist. */
  readonly webDistDir?: string;
  /**
   * The mail catcher (MailDev) that receives every e-mail and text message: its SMTP and web UI ports
   * (defaults 1025 and 1080; 0 picks free ones), or false for none (messages are then only recorded by
   * the SES stand-in, `stack.ses.messages`). Default: on, on the default ports.
   */
  readonly mailCatcher?: false | { readonly smtpPort?: number; readonly webPort?: number };
  /**
   * The APNs stand-in's TLS key and certificate; default a new one each start (the test harness makes one
   * per run: generating it is an RSA key per stack).
   */
  readonly apnsTls?: ApnsServerCertificate;
}

export interface LocalStack {
  readonly baseUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** The handlers' metrics, one embedded-metric-format JSON line per flush. */
  readonly metricsFile: string;
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly s3Bucket: string;
  readonly issuer: StaffIssuer;
  /** Absent when seeding is off. */
  readonly demo: DemoData | undefined;
  readonly demoSeeded: boolean;
  readonly demoFile: string;
  readonly poller: StreamPoller;
  /** The APNs stand-in the wallet-sync consumer pushes to (records pushes, injects faults). */
  readonly apns: ApnsStandIn;
  /** The Google OAuth + Wallet API stand-in (records PATCH and addMessage calls, injects faults). */
  readonly google: GoogleStandIn;
  /** The scheduled jobs on local timers; `runNow(name)` runs one at once. */
  readonly scheduler: LocalScheduler;
  /** The SES v2 and SMS stand-in every message goes through (records them, publishes SES events). */
  readonly ses: SesStandIn;
  /** Where a person (or a test) reads the messages; absent when `mailCatcher: false`. */
  readonly mailCatcher: MailCatcher | undefined;
  stop(): Promise<void>;
}

/**
 * Everything `npm start` runs, in this process: DynamoDB Local (java child), s3rver, the local API
 * Gateway calling the Lambda handlers in-process, the stream poller feeding the stream consumers, and
 * the demo seed. Handlers read process.env, so run one stack per process.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? consoleLog();
  const dataDir = resolve(options.dataDir ?? '.local');
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  const demoFile = join(dataDir, 'demo.json');
  // The handlers' metrics (what CloudWatch would get as embedded metric format), kept off the console.
  const metricsFile = join(dataDir, 'metrics.jsonl');
  if (options.fresh) {
    for (const entry of ['dynamodb', 's3', 'mail', 'dlq', 'demo.json', 'stream-positions.json']) {
      rmSync(join(dataDir, entry), { recursive: true, force: true });
    }
  }
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of stoppers.splice(0).reverse()) {
      try {
        await stopOne();
      } catch (error) {
        log.warn(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));

    let dynamodbEndpoint = options.dynamodbEndpoint;
    if (!dynamodbEndpoint) {
      const dynamodb = await startDynamoDbLocal({
        port: options.dynamoPort ?? 8000,
        ...(options.inMemory ? {} : { dataDir: join(dataDir, 'dynamodb') }),
      });
      stoppers.push(dynamodb.stop);
      dynamodbEndpoint = dynamodb.endpoint;
    }
    const client = dynamoDbClient(dynamodbEndpoint);
    try {
      // A stack that runs no stream consumer (a test's) has no use for the stream.
      await ensureTable(client, tableName, { stream: options.consumers?.length !== 0 });
    } finally {
      client.destroy();
    }

    const s3 = await startS3Local({ port: options.s3Port ?? 4569, directory: join(dataDir, 's3') });
    stoppers.push(s3.stop);

    // Apple Wallet passes are signed by a local test chain (CA, WWDR-like intermediate, signer), made once.
    const appleCertificates = loadOrCreateLocalAppleCertificates(join(dataDir, 'apple-pass.json'));

    // Wallet pushes go to local stand-ins of APNs and Google Wallet, on free ports, with generated keys.
    const pushCredentials = await loadOrCreatePushCredentials(join(dataDir, 'wallet-push.json'));
    const standInLog = prefixed(log, '[wallet] ');
    const apns = await startApnsStandIn({
      ...pushCredentials.apns,
      // Pushes authenticate with the pass certificate by default (APNS_AUTH), or with the local APNs key.
      clientCa: [appleCertificates.ca, appleCertificates.certificates.wwdr],
      topics: [appleCertificates.certificates.passTypeIdentifier],
      log: (line) => standInLog.info(line),
      ...(options.apnsTls ? { tls: options.apnsTls } : {}),
    });
    stoppers.push(apns.close);
    const google = await startGoogleStandIn({
      clientEmail: pushCredentials.google.client_email,
      publicKey: pushCredentials.google.publicKey,
      log: (line) => standInLog.info(line),
    });
    stoppers.push(google.close);

    // E-mail and text messages: the SES/SMS stand-in speaks the AWS APIs and hands them to MailDev.
    let mailCatcher: MailCatcher | undefined;
    if (options.mailCatcher !== false) {
      mailCatcher = await startMailCatcher({
        ...(options.mailCatcher ?? {}),
        ...(options.inMemory ? {} : { directory: join(dataDir, 'mail') }),
      });
      stoppers.push(mailCatcher.stop);
    }
    const ses = await startSesStandIn({
      fromAddress: LOCAL_DELIVERY.fromAddress,
      configurationSets: [LOCAL_DELIVERY.configurationSet],
      smsOriginationIdentity: LOCAL_DELIVERY.smsOriginationIdentity,
      ...(mailCatcher ? { smtpPort: mailCatcher.smtpPort } : {}),
      log: (line) => prefixed(log, '[mail] ').warn(line),
    });
    stoppers.push(ses.close);

    // Requests wait for the handlers' environment, which needs the issuer URL, which needs the port.
    let environmentReady: () => void = () => {};
    const ready = new Promise<void>((resolveReady) => {
      environmentReady = resolveReady;
    });
    const loadApiHandler = options.loadApiHandler ?? importApiHandler;
    const gateway = createGatewayAuth({
      loadAuthorizer: async () => {
        await ready;
        return importAuthorizerHandler();
      },
      plans: usagePlans(options.usagePlans),
      ...(options.authorizerCacheSeconds === undefined
        ? {}
        : { cacheSeconds: options.authorizerCacheSeconds }),
    });
    // The web apps (web/dist, when built) and the local OAuth sign-in answer what no API route matches.
    let oauth: LocalOAuth | undefined;
    let issuerUrl = '';
    const webAssets = createWebAssets({
      distDir: options.webDistDir ?? WEB_DIST,
      config: () => ({
        apiBaseUrl: '',
        auth: {
          provider: 'local',
          authorizeUrl: `${issuerUrl}/oauth2/authorize`,
          tokenUrl: `${issuerUrl}/oauth2/token`,
          logoutUrl: `${issuerUrl}/logout`,
          clientId: LOCAL_OAUTH_CLIENT_ID,
          scopes: 'openid email',
        },
      }),
    });
    const http = await startHttpServer({
      port: options.port ?? 3000,
      gateway,
      fallback: async (request, response, body) =>
        (oauth ? await oauth.handle(request, response, body) : false) || webAssets(request, response),
      loadHandler: async (fn) => {
        await ready;
        return loadApiHandler(fn);
      },
      ...(options.requestLog ? { log: options.requestLog } : {}),
      ...(options.requestTimeoutMs ? { timeoutMs: options.requestTimeoutMs } : {}),
    });
    stoppers.push(http.close);

    const issuer = await createStaffIssuer({
      signingKey: secrets.staffSigningKey,
      issuer: `${http.baseUrl}/local-issuer`,
    });
    issuerUrl = issuer.issuer;
    oauth = createLocalOAuth({ issuer, basePath: '/local-issuer', origin: () => http.baseUrl });
    applyHandlerEnvironment({
      tableName,
      dynamodbEndpoint,
      codePepper: secrets.codePepper,
      issuer,
      ...(options.logLevel ? { logLevel: options.logLevel } : { logLevel: process.env.LOG_LEVEL ?? 'WARN' }),
      s3: { endpoint: s3.endpoint, bucket: s3.bucket },
      dlqDir: join(dataDir, 'dlq'),
      exportSigningKeyPem: loadOrCreateExportSigningKey(join(dataDir, 'export-signing-key.pem')),
      walletPush: {
        apnsUrl: apns.url,
        apnsCa: apns.ca,
        googleApiUrl: google.url,
        googleTokenUrl: google.tokenUrl,
        ...pushCredentialsJson(pushCredentials),
      },
      applePass: {
        certificatesJson: JSON.stringify(appleCertificates.certificates),
        publicBaseUrl: http.baseUrl,
      },
      metricsFile,
      delivery: { sesUrl: ses.url, ...LOCAL_DELIVERY },
    });
    options.onEnvironment?.();
    environmentReady();
    // SES's events (the configuration set's SNS destination in AWS) mark the e-gift deliveries (issue #19).
    ses.onEvent(async (event) => {
      const [{ readSesEvent }, { markMessageEvent }] = await Promise.all([
        import('../functions/core/delivery/ses-event'),
        import('../functions/app/delivery-events'),
      ]);
      const message = readSesEvent(JSON.stringify(event));
      if (message) await markMessageEvent(message);
    });

    const poller = createStreamPoller({
      endpoint: dynamodbEndpoint,
      tableName,
      dlqDir: join(dataDir, 'dlq'),
      ...(options.inMemory ? {} : { checkpointFile: join(dataDir, 'stream-positions.json') }),
      loadHandler: options.loadStreamHandler ?? importStreamHandler,
      ...(options.consumers ? { consumers: options.consumers } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.streamRetryDelaysMs
        ? {
            retryDelayMs: options.streamRetryDelaysMs.first,
            maxRetryDelayMs: options.streamRetryDelaysMs.max,
          }
        : {}),
      log: prefixed(log, '[streams] '),
    });
    poller.start();
    stoppers.push(poller.stop);

    const scheduler = startScheduler({
      log: prefixed(log, '[schedules] '),
      timers: options.scheduleTimers ?? true,
    });
    stoppers.push(scheduler.stop);
    // Imported here, once the environment is set: it loads handler modules, whose logger takes its level
    // at import (tests set LOG_LEVEL before starting a stack).
    const { startMonthlyExports } = await import('./monthly-export');
    const monthlyExports = startMonthlyExports(prefixed(log, '[exports] '));
    stoppers.push(async () => monthlyExports.stop());

    let demo: DemoData | undefined;
    let demoSeeded = false;
    if (options.seed ?? true) {
      const result = await seedDemo({
        baseUrl: http.baseUrl,
        issuer,
        file: demoFile,
        fresh: Boolean(options.fresh || options.inMemory),
        log,
      });
      demo = result.demo;
      demoSeeded = result.seeded;
    }

    return {
      baseUrl: http.baseUrl,
      port: http.port,
      dataDir,
      tableName,
      dynamodbEndpoint,
      s3Endpoint: s3.endpoint,
      s3Bucket: s3.bucket,
      issuer,
      demo,
      demoSeeded,
      demoFile,
      metricsFile,
      poller,
      apns,
      google,
      scheduler,
      ses,
      mailCatcher,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function prefixed(log: LocalLog, prefix: string): LocalLog {
  return {
    info: (message) => log.info(`${prefix}${message}`),
    warn: (message) => log.warn(`${prefix}${message}`),
    error: (message) => log.error(`${prefix}${message}`),
  };
}
