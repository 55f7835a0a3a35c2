import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { API_TABLE_ACCESS } from '../../lib/api-handlers-stack';
import { parseDeploymentConfig } from '../../lib/config';
import { GiftCardFunction } from '../../lib/constructs/function';
import { GiftCardTable } from '../../lib/constructs/table';
import {
  actionsOf,
  buildFirstRegion,
  type CfnResource,
  envOf,
  FIRST_REGION,
  refTarget,
  resourcesOf,
  scratchDir,
  statementsOfRole,
  template,
} from './build';

const REQUIRED_ENV = [
  'POWERTOOLS_SERVICE_NAME',
  'LOG_LEVEL',
  'TABLE_NAME',
  'CODE_PEPPER_SECRET_ID',
  'REGION_CODE',
  'STAFF_JWT_ISSUER',
  'STAFF_JWKS_URL',
  'STAFF_JWT_AUDIENCE',
];

describe('functions', () => {
  let templates: { name: string; t: Template }[];

  beforeAll(() => {
    const set = buildFirstRegion();
    templates = [
      { name: 'api', t: template(set.apiHandlers) },
      { name: 'api', t: template(set.api) },
      { name: 'streams', t: template(set.streams) },
      { name: 'schedules', t: template(set.schedules) },
      { name: 'issuance', t: template(set.issuance) },
    ];
  });

  /** Runs `check` on every Lambda function of the api, streams and schedules stacks. */
  const eachFunction = (check: (fn: CfnResource, t: Template, stack: string) => void) => {
    let count = 0;
    for (const { name, t } of templates) {
      for (const fn of Object.values(resourcesOf(t, 'AWS::Lambda::Function'))) {
        check(fn, t, name);
        count += 1;
      }
    }
    expect(count).toBeGreaterThan(0);
  };
  const statementsOf = (fn: CfnResource, t: Template) => statementsOfRole(t, refTarget(fn.Properties.Role));

  it('run Node.js 22 on arm64 with active tracing, 1024 MB and the `handler` export', () => {
    eachFunction((fn) => {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: 1024,
        Handler: 'index.handler',
      });
    });
  });

  it('give API handlers 10 s, stream consumers what the registry says (a minute by default), jobs five minutes, the bulk runner Lambda’s 15', () => {
    const timeouts: Record<string, number> = { api: 10, streams: 60, schedules: 300 };
    const issuance: Record<string, number> = {
      'giftcard-bulk-runner': 900,
      'giftcard-delivery-ses-events': 30,
    };
    eachFunction((fn, _t, stack) => {
      const service = String(envOf(fn).POWERTOOLS_SERVICE_NAME);
      const consumer = STREAM_CONSUMERS.find((c) => service === `giftcard-stream-${c.name}`);
      expect(fn.Properties.Timeout, service).toBe(
        consumer?.timeoutSeconds ?? issuance[service] ?? timeouts[stack],
      );
    });
  });

  it('get the environment functions/config.ts reads; Node does not load source maps at start', () => {
    eachFunction((fn) => {
      const env = envOf(fn);
      for (const name of REQUIRED_ENV) expect(env[name], name).toBeDefined();
      // Logged stacks are mapped when logged (functions/observability/stack-positions.ts).
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect(env.REGION_CODE).toBe(FIRST_REGION.regionCode);
      expect(env.POWERTOOLS_SERVICE_NAME).toMatch(/^giftcard-/);
      expect(JSON.stringify(env.STAFF_JWT_ISSUER)).toContain(
        `https://cognito-idp.${FIRST_REGION.region}.amazonaws.com/`,
      );
      expect(JSON.stringify(env.STAFF_JWKS_URL)).toContain('/.well-known/jwks.json');
    });
  });

  it('log to their own log group, kept one year', () => {
    eachFunction((fn, t) => {
      const logGroup = refTarget((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
      const groups = resourcesOf(t, 'AWS::Logs::LogGroup');
      expect(logGroup && groups[logGroup]?.Properties.RetentionInDays).toBe(365);
    });
  });

  it('have their own role without managed policies, and no wildcard actions', () => {
    eachFunction((fn, t) => {
      const role = resourcesOf(t, 'AWS::IAM::Role')[refTarget(fn.Properties.Role) ?? ''];
      expect(role).toBeDefined();
      expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
      for (const statement of statementsOf(fn, t)) {
        for (const action of actionsOf(statement)) expect(action, action).not.toContain('*');
        if (statement.Resource === '*') {
          for (const action of actionsOf(statement)) {
            // sqs:ListQueues (the ops function's DLQ list) supports no narrower resource.
            expect([
              'xray:PutTraceSegments',
              'xray:PutTelemetryRecords',
              'dynamodb:ListStreams',
              'sqs:ListQueues',
            ]).toContain(action);
          }
        }
      }
    });
  });

  it('may read the pepper secret and use KMS keys only through their services', () => {
    eachFunction((fn, t) => {
      const statements = statementsOf(fn, t);
      const secretRead = statements.find((s) => s.Action === 'secretsmanager:GetSecretValue');
      // The pepper; wallet functions also read their push credentials (test/infra/wallet-secrets.test.ts).
      expect([secretRead?.Resource].flat()).toContainEqual(envOf(fn).CODE_PEPPER_SECRET_ID);
      for (const statement of statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')))) {
        const via = (statement.Condition?.StringEquals as Record<string, string> | undefined)?.[
          'kms:ViaService'
        ];
        // The event source mapping's stream reads are the only unconditioned key use (decrypt only).
        if (via === undefined)
          expect(actionsOf(statement).sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
        // s3: the exports API signs download links for KMS-encrypted export files.
        else expect(via).toMatch(/^(dynamodb|secretsmanager|sqs|s3)\.[a-z0-9-]+\.amazonaws\.com$/);
      }
    });
  });

  it('never get table administration or Scan', () => {
    eachFunction((fn, t) => {
      const actions = statementsOf(fn, t).flatMap(actionsOf);
      for (const forbidden of [
        'Scan',
        'CreateTable',
        'DeleteTable',
        'UpdateTable',
        'PartiQL',
        'RestoreTable',
      ]) {
        expect(
          actions.filter((action) => action.startsWith('dynamodb:') && action.includes(forbidden)),
        ).toEqual([]);
      }
    });
  });

  it('API handlers (except the read-only health check and reports), scheduled jobs and the issuance functions read and write items; consumers as the registry says', () => {
    eachFunction((fn, t, stack) => {
      const service = String(envOf(fn).POWERTOOLS_SERVICE_NAME);
      const actions = statementsOf(fn, t).flatMap(actionsOf);
      const consumer = STREAM_CONSUMERS.find((c) => service === `giftcard-stream-${c.name}`);
      const apiFunction = service.slice('giftcard-api-'.length) as keyof typeof API_TABLE_ACCESS;
      const writes =
        (stack === 'api' && API_TABLE_ACCESS[apiFunction] === 'readWrite') ||
        // The authorizer records an API key's last use (once a minute), as the handlers do.
        service === 'giftcard-api-authorizer' ||
        stack === 'schedules' ||
        stack === 'issuance' ||
        consumer?.tableAccess === 'readWrite';
      expect(actions.includes('dynamodb:UpdateItem'), service).toBe(writes);
      expect(actions).toContain('dynamodb:GetItem');
      expect(actions).toContain('dynamodb:Query');
    });
  });
});

describe('GiftCardFunction bundling (esbuild, one small entry)', () => {
  it('emits a minified ESM bundle with the require banner and source maps, lazy imports in chunks of their own', async () => {
    const dir = scratchDir('bundling');
    fs.mkdirSync(path.join(dir, 'api'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'api', 'probe.ts'),
      "import { createHash } from 'node:crypto';\n" +
        'export const handler = async (event: { body: string; lazy?: boolean }) => ({\n' +
        "  statusCode: 200, body: event.lazy ? (await import('./lazy')).shout(event.body) : createHash('sha256').update(event.body).digest('hex'),\n});\n",
    );
    // Reached only through import(): compiled by a cold start only when a request needs it.
    fs.writeFileSync(
      path.join(dir, 'api', 'lazy.ts'),
      "export const shout = (text: string) => text.toUpperCase() + ':LAZY-MODULE-MARKER';\n",
    );
    const outdir = fs.mkdtempSync(path.join(scratchDir('out'), 'asm-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'BundlingProbe', { env: { region: FIRST_REGION.region } });
    const key = new kms.Key(stack, 'Key');
    const region = parseDeploymentConfig({ regions: [FIRST_REGION] }).regions[0];
    if (!region) throw new Error('no region');
    const fn = new GiftCardFunction(stack, 'Probe', {
      runtime: {
        region,
        table: new GiftCardTable(stack, 'Table', { encryptionKey: key }),
        pepperSecret: new secretsmanager.Secret(stack, 'Pepper', { encryptionKey: key }),
        staffAuth: { issuer: 'https://issuer', jwksUrl: 'https://issuer/jwks', audience: 'aud' },
        functionsDir: dir,
      },
      entry: 'api/probe.ts',
      serviceName: 'probe',
      kind: 'api',
      description: 'bundling probe',
      tableAccess: 'none',
    });
    const assembly = app.synth();
    expect(fn.function.runtime.name).toBe('nodejs22.x');
    const assetDirs = fs
      .readdirSync(assembly.directory)
      .filter((name) => name.startsWith('asset.'))
      .map((name) => path.join(assembly.directory, name));
    const bundle = assetDirs.find((assetDir) => fs.existsSync(path.join(assetDir, 'index.mjs')));
    expect(bundle, 'an asset with index.mjs (ESM output)').toBeDefined();
    const source = fs.readFileSync(path.join(bundle as string, 'index.mjs'), 'utf8');
    expect(
      source.startsWith(
        "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      ),
    ).toBe(true);
    expect(source).toMatch(/export\s*\{/);
    expect(source.split('\n').length).toBeLessThan(10); // minified
    expect(fs.existsSync(path.join(bundle as string, 'index.mjs.map'))).toBe(true);
    expect(source).not.toContain('LAZY-MODULE-MARKER');
    const chunks = fs.readdirSync(path.join(bundle as string, 'chunks'));
    const lazyChunk = chunks.find(
      (chunk) =>
        chunk.endsWith('.mjs') &&
        fs.readFileSync(path.join(bundle as string, 'chunks', chunk), 'utf8').includes('LAZY-MODULE-MARKER'),
    );
    expect(lazyChunk, 'the lazily imported module in a chunk of its own').toBeDefined();
    expect(chunks).toContain(`${lazyChunk}.map`);
    // The handler Lambda would load (index.handler) answers from the asset alone, the lazy path too.
    const { handler } = await import(pathToFileURL(path.join(bundle as string, 'index.mjs')).href);
    expect(await handler({ body: 'abc' })).toEqual({
      statusCode: 200,
      body: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
    expect(await handler({ body: 'abc', lazy: true })).toEqual({
      statusCode: 200,
      body: 'ABC:LAZY-MODULE-MARKER',
    });
    fs.rmSync(outdir, { recursive: true, force: true });
  }, 60_000);
});
