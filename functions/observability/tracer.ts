import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * The one Powertools Tracer (service from POWERTOOLS_SERVICE_NAME). In Lambda (tracing ACTIVE) every AWS
 * SDK client made through traced() records a subsegment per call, and outgoing fetch/https calls (APNs,
 * Google, webhooks) are captured too; outside Lambda (`npm start`, tests) Tracer turns itself off and
 * traced() returns the client untouched.
 *
 * Responses are never recorded (captureResponse false where handlers are wrapped): answers carry card
 * codes at issue.
 */
export const tracer = new Tracer();

/** Wraps an AWS SDK v3 client so each of its calls is a subsegment of the invocation's trace. */
export function traced<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}

/** Indexed annotations on the current trace (route, merchant, card): searchable in X-Ray. */
export function annotateTrace(annotations: Readonly<Record<string, string | undefined>>): void {
  for (const [key, value] of Object.entries(annotations)) {
    if (value !== undefined && value !== '') tracer.putAnnotation(key, value);
  }
}
