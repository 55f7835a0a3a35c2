import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time on the two-core machines this runs on (vitest's default there is one): most
    // files wait on DynamoDB Local, s3rver or a browser, not on their own CPU.
    maxWorkers: 2,
    // One DynamoDB Local (in memory) for the whole run; each test file makes its own tables.
    globalSetup: ['test/support/global-setup.ts'],
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
        test: { name: 'runtime', include: ['test/**/*.test.ts'], exclude: ['test/infra/**'] },
      },
    ],
  },
});
