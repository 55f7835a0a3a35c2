/**
 * Builds the CDK app in-process for the infra tests: the context of cdk.json, asset bundling skipped
 * (`aws:cdk:bundling-stacks: []`; `npx cdk synth -q` exercises bundling), output in a temp dir.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { API_FUNCTIONS } from '../../functions/http/route-table';
import { SCHEDULED_JOBS } from '../../functions/scheduled/registry';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { PROJECT_ROOT } from '../../lib/constructs/function';
import { EXPORT_STEPS } from '../../lib/exports-stack';
import { buildGiftCardApp, type RegionStacks } from '../../lib/giftcard-app';

export const CDK_JSON = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  app: string;
  context: Record<string, unknown> & { regions: Record<string, unknown>[] };
};

/** The region most tests look at: the first of cdk.json. */
export const FIRST_REGION = CDK_JSON.context.regions[0] as { region: string; regionCode: string };

/** Every Lambda entry the app needs, relative to the functions directory. */
export const FUNCTION_ENTRIES = [
  ...API_FUNCTIONS.map((fn) => `api/${fn}.ts`),
  'http/authorizer.ts',
  ...STREAM_CONSUMERS.map((consumer) => `streams/${consumer.module}.ts`),
  ...SCHEDULED_JOBS.map((job) => `scheduled/${job.module}.ts`),
  ...EXPORT_STEPS.map((step) => `exports/${step}.ts`),
  'bulk/runner.ts',
  'delivery/ses-events.ts',
];

/**
 * A scratch directory inside the project (bundled entries must sit under the project root) that
 * git ignores: node_modules/.cache.
 */
export function scratchDir(name: string): string {
  const dir = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'giftcard-infra-test', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * With bundling skipped only the entries' existence matters. While the handler modules are being
 * written, fall back to stubs so the infrastructure can still be checked (a warning says so).
 */
function functionsDir(): string | undefined {
  const real = path.join(PROJECT_ROOT, 'functions');
  const missing = FUNCTION_ENTRIES.filter((entry) => !fs.existsSync(path.join(real, entry)));
  if (missing.length === 0) return undefined;
  console.warn(`infra tests: missing ${missing.join(', ')} under functions/, using stubs`);
  const stubs = scratchDir('functions');
  for (const entry of FUNCTION_ENTRIES) {
    fs.mkdirSync(path.dirname(path.join(stubs, entry)), { recursive: true });
    fs.writeFileSync(path.join(stubs, entry), 'export const handler = async () => undefined;\n');
  }
  return stubs;
}

export interface TestApp {
  readonly app: App;
  readonly sets: RegionStacks[];
  readonly outdir: string;
}

const outdirs: string[] = [];
// The infra tests share one process (vitest.config.ts: isolate false), and an assembly built by one file
// may serve the next (buildFirstRegion): the directories go when the process ends, not with a file.
process.once('exit', () => {
  for (const dir of outdirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export function buildTestApp(options: { regions?: unknown; nag?: boolean; stage?: string } = {}): TestApp {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'giftcard-cdk-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    context: {
      ...CDK_JSON.context,
      ...(options.regions === undefined ? {} : { regions: options.regions }),
      ...(options.stage === undefined ? {} : { stage: options.stage }),
      'aws:cdk:bundling-stacks': [],
    },
  });
  const sets = buildGiftCardApp(app, { functionsDir: functionsDir(), nag: options.nag });
  return { app, sets, outdir };
}

let firstRegion: RegionStacks | undefined;

/**
 * One region's stacks (the first of cdk.json), built once per process and shared by the infra test files
 * that only read templates. Without cdk-nag's checks: test/infra/nag.test.ts runs them on the whole app.
 */
export function buildFirstRegion(): RegionStacks {
  if (firstRegion) return firstRegion;
  const set = buildTestApp({ regions: [FIRST_REGION], nag: false }).sets[0];
  if (!set) throw new Error('no region built');
  firstRegion = set;
  return set;
}

let allRegions: TestApp | undefined;

/**
 * Every region of cdk.json as they are, without cdk-nag's checks: built once per process and shared by the
 * files that only read it (synthesizing it is allowed: App caches its assembly).
 */
export function buildAllRegions(): TestApp {
  allRegions ??= buildTestApp({ nag: false });
  return allRegions;
}

export const template = (stack: Stack): Template => Template.fromStack(stack);

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  [key: string]: unknown;
}
type Resources = Record<string, CfnResource>;

/** Resources of one type, by logical id. */
export function resourcesOf(t: Template, type: string): Resources {
  const found = t.findResources(type) as Record<string, Partial<CfnResource>>;
  return Object.fromEntries(
    Object.entries(found).map(([id, resource]) => [
      id,
      { ...resource, Properties: resource.Properties ?? {} },
    ]),
  ) as Resources;
}

/** A Lambda function resource's environment variables. */
export function envOf(fn: CfnResource | undefined): Record<string, unknown> {
  return (fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
}

export interface PolicyStatement {
  Action: string | string[];
  Resource: unknown;
  Effect?: string;
  Condition?: Record<string, unknown>;
}

/** Every statement of the inline policies attached to role `roleId`. */
export function statementsOfRole(t: Template, roleId: string | undefined): PolicyStatement[] {
  return Object.values(resourcesOf(t, 'AWS::IAM::Policy'))
    .filter((policy) =>
      ((policy.Properties.Roles as unknown[]) ?? []).some((role) => refTarget(role) === roleId),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

export const actionsOf = (statement: PolicyStatement): string[] => [statement.Action].flat();

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
export function refTarget(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return object.Ref;
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  return undefined;
}

/** Every API Gateway method of a template by `METHOD /full/path`, the path rebuilt from the resource tree. */
export function methodsByKey(t: Template): Map<string, Record<string, unknown>> {
  const resources = resourcesOf(t, 'AWS::ApiGateway::Resource');
  const pathOf = (logicalId: string | undefined): string => {
    // The root resource is `Fn::GetAtt [RestApi, RootResourceId]`, not an AWS::ApiGateway::Resource.
    const resource = logicalId ? resources[logicalId] : undefined;
    if (!resource) return '';
    return `${pathOf(refTarget(resource.Properties.ParentId))}/${String(resource.Properties.PathPart)}`;
  };
  const methods = new Map<string, Record<string, unknown>>();
  for (const method of Object.values(resourcesOf(t, 'AWS::ApiGateway::Method'))) {
    const path = pathOf(refTarget(method.Properties.ResourceId)) || '/';
    methods.set(`${String(method.Properties.HttpMethod)} ${path}`, method.Properties);
  }
  return methods;
}

export const methodKeys = (t: Template): Set<string> => new Set(methodsByKey(t).keys());

/** Routes of `routes` without a method in the template (the test that must fail when one is missing). */
export function routesWithoutMethod(
  t: Template,
  routes: readonly { method: string; path: string }[],
): string[] {
  const keys = methodKeys(t);
  return routes.map((route) => `${route.method} ${route.path}`).filter((key) => !keys.has(key));
}

/**
 * The Lambda function a reference invokes: the function itself, or the function behind the alias it
 * names (callers invoke the functions' `live` alias, which CodeDeploy moves between versions).
 */
export function functionBehind(t: Template, value: unknown, handlers: Template = t): string | undefined {
  // `<function name>:live` is written as a join over the alias's ARN: find the reference inside, or the
  // handlers' stack output it comes from (Fn::GetStackOutput, or Fn::ImportValue of its export).
  const json = JSON.stringify(value ?? null);
  const outputs = (handlers.toJSON().Outputs ?? {}) as Record<
    string,
    { Value?: unknown; Export?: { Name?: unknown } }
  >;
  const outputName = /"Fn::GetStackOutput":\{[^}]*"OutputName":"([^"]+)"/.exec(json)?.[1];
  const importName = /"Fn::ImportValue":"([^"]+)"/.exec(json)?.[1];
  const output =
    (outputName === undefined ? undefined : outputs[outputName]) ??
    (importName === undefined
      ? undefined
      : Object.values(outputs).find((candidate) => candidate.Export?.Name === importName));
  if (outputName !== undefined || importName !== undefined) {
    return output ? functionBehind(handlers, output.Value) : undefined;
  }
  const id = refTarget(value) ?? /"Ref":"([A-Za-z0-9]+)"/.exec(json)?.[1];
  const alias = id ? resourcesOf(t, 'AWS::Lambda::Alias')[id] : undefined;
  return alias ? refTarget(alias.Properties.FunctionName) : id;
}
