import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { LONG_FILES } from './test/support/long-files';

/**
 * Without a results cache from an earlier run (CI's fresh clone) vitest starts a project's files largest
 * first, by bytes: the concurrency file, small and slow, started two thirds of the way in, and one worker
 * could still be running it while the other sat idle. Hence this order: vitest's own (projects one after another, the infra project's files together so its one
 * process builds the CDK app once; then longest first when a results cache knows the durations, else
 * largest first), with LONG_FILES moved to the front of their project, so the two workers finish at
 * about the same time.
 */
class LongFilesFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const projects = [...new Set(sorted.map((spec) => spec.project.name))];
    const rank = (spec: TestSpecification): number => {
      const index = LONG_FILES.indexOf(relative(this.ctx.config.root, spec.moduleId).replaceAll('\\', '/'));
      return index === -1 ? LONG_FILES.length : index;
    };
    return sorted
      .map((spec, position) => ({ spec, position }))
      .sort(
        (a, b) =>
          projects.indexOf(a.spec.project.name) - projects.indexOf(b.spec.project.name) ||
          rank(a.spec) - rank(b.spec) ||
          a.position - b.position,
      )
      .map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time on the two-core machines this runs on (vitest's default there is one): most
    // files wait on DynamoDB Local, s3rver or a browser, not on their own CPU.
    maxWorkers: 2,
    // The files known to run long start first (LongFilesFirstSequencer above), so both workers end together.
    sequence: { sequencer: LongFilesFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests never reach AWS: dummy credentials, and no SDK notice about the Node version.
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Handlers called without the local stack's environment write no metrics to stdout; stacks and
      // tests that read metrics turn them on with a file (local/handler-env.ts).
      POWERTOOLS_METRICS_DISABLED: 'true',
      // The one Powertools logger is built when a test file imports the handlers, before a stack sets
      // the handlers' environment: without these its lines said `service_undefined` and came at INFO.
      // Tests that read the log at DEBUG set both levels in vi.hoisted, before any import.
      POWERTOOLS_SERVICE_NAME: 'giftcard',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          // The CDK tests only read templates: one worker process builds the app once for all of them
          // (test/infra/build.ts buildFirstRegion) instead of once per file.
          isolate: false,
        },
      },
      {
        extends: true,
        // Pure code: no DynamoDB Local, no stack.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'runtime',
          include: ['test/**/*.test.ts'],
          exclude: ['test/infra/**', 'test/unit/**'],
          // A pool of in-memory DynamoDB Locals (dynamodb-pool.ts), here only: a global setup at the top
          // would run once more for every project, each starting spares that nobody leases. Every file
          // gets a DynamoDB Local of its own, started ahead by the pool.
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/dynamodb-per-file.ts'],
        },
      },
    ],
  },
});
