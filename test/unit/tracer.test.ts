import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mayTrace } from '../../functions/observability/tracer';

const LAMBDA = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };
const middlewareNames = (client: DynamoDBClient) =>
  client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);

/** A fresh copy of the tracer module under the environment the test set (it decides at load). */
async function loadTracerModule() {
  vi.resetModules();
  return import('../../functions/observability/tracer');
}

describe('tracing', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('is possible in Lambda only, as Powertools decides it', () => {
    expect(mayTrace({})).toBe(false);
    expect(mayTrace(LAMBDA)).toBe(true);
    expect(mayTrace({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(mayTrace({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(mayTrace({ ...LAMBDA, AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(mayTrace({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' })).toBe(false);
  });

  it('outside Lambda loads no tracer and leaves AWS SDK clients as they are', async () => {
    vi.stubEnv('AWS_EXECUTION_ENV', '');
    const { tracer, traced, annotateTrace } = await loadTracerModule();
    expect(tracer).toBeUndefined();
    const client = new DynamoDBClient({ region: 'us-east-1' });
    const before = middlewareNames(client);
    expect(traced(client)).toBe(client);
    expect(middlewareNames(client)).toEqual(before);
    expect(() => annotateTrace({ route: 'GET /v1/cards/{cardId}' })).not.toThrow();
  });

  it('in Lambda loads Powertools Tracer at init, and every call of a traced client is an X-Ray subsegment', async () => {
    vi.stubEnv('AWS_EXECUTION_ENV', LAMBDA.AWS_EXECUTION_ENV);
    // Leaves this test process's http and fetch unpatched; the SDK client instrumentation is what is checked.
    vi.stubEnv('POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS', 'false');
    const { tracer, traced } = await loadTracerModule();
    expect(tracer?.isTracingEnabled()).toBe(true);
    const client = new DynamoDBClient({ region: 'us-east-1' });
    expect(middlewareNames(client)).not.toContain('XRaySDKInstrumentation');
    expect(traced(client)).toBe(client);
    expect(middlewareNames(client)).toContain('XRaySDKInstrumentation');
  });
});
