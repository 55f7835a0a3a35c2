import type { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Whether Powertools Tracer could trace in this environment: in Lambda (AWS_EXECUTION_ENV, which the
 * runtime sets), unless POWERTOOLS_TRACE_ENABLED is `false` or it is SAM CLI's or Amplify's local mock. The
 * same test Tracer makes itself; where it passes, Tracer is loaded and still decides for itself.
 */
export function mayTrace(env: NodeJS.ProcessEnv = process.env): boolean {
  const executionEnv = env.AWS_EXECUTION_ENV ?? '';
  return (
    executionEnv !== '' &&
    executionEnv !== 'AWS_Lambda_amplify-mock' &&
    (env.AWS_SAM_LOCAL ?? '') === '' &&
    env.POWERTOOLS_TRACE_ENABLED?.trim().toLowerCase() !== 'false'
  );
}

/**
 * The one Powertools Tracer (service from POWERTOOLS_SERVICE_NAME), or undefined where nothing would be
 * traced (`npm start`, tests, benches). In Lambda (tracing ACTIVE) every AWS SDK client made through
 * traced() records a subsegment per call, and outgoing fetch/https calls (APNs, Google, webhooks) are
 * captured too.
 *
 * Loaded only where it can trace: Tracer brings the X-Ray SDK (aws-xray-sdk-core with cls-hooked and
 * semver, about 120 KB of the bundle), whose evaluation and async hook cost every cold start. In Lambda it
 * is loaded at init, before any handler runs (top-level await), so the first request is traced as before.
 *
 * Responses are never recorded (captureResponse false where handlers are wrapped): answers carry card
 * codes at issue.
 */
export const tracer: Tracer | undefined = mayTrace()
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer()
  : undefined;

/** Wraps an AWS SDK v3 client so each of its calls is a subsegment of the invocation's trace. */
export function traced<T>(client: T): T {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/** Indexed annotations on the current trace (route, merchant, card): searchable in X-Ray. */
export function annotateTrace(annotations: Readonly<Record<string, string | undefined>>): void {
  if (!tracer) return;
  for (const [key, value] of Object.entries(annotations)) {
    if (value !== undefined && value !== '') tracer.putAnnotation(key, value);
  }
}
