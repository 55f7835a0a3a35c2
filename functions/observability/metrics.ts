import { appendFileSync } from 'node:fs';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import { logger } from '../logger';
import type { MetricName } from './metric-names';

export { MetricUnit };

/**
 * The one Powertools Metrics instance (namespace POWERTOOLS_METRICS_NAMESPACE, dimension `service` from
 * POWERTOOLS_SERVICE_NAME; CDK sets both). Metrics are buffered and written as one embedded-metric-format
 * line per invocation by flushMetrics(): CloudWatch turns the line into metrics, no API call, no latency.
 *
 * Under `npm start` and in tests (METRICS_LOCAL_FILE) the same lines go to a file instead of stdout, so the
 * console stays readable and a test can read what was emitted.
 *
 * Like the POWERTOOLS_* variables Powertools reads itself, METRICS_LOCAL_FILE is read here and not through
 * functions/config.ts: metrics must not depend on the rest of the configuration (GET /health reads none of
 * it), and a metric that cannot be written must never fail the request it describes.
 */
export const metrics = new Metrics();

/** Adds to a metric of the invocation (same name: one line with all values). */
export function countMetric(name: MetricName, value = 1, unit: Unit = MetricUnit.Count): void {
  metrics.addMetric(name, unit, value);
}

/**
 * A metric with its own dimensions beside `service` (declines by reason, redemptions by currency): written
 * at once as its own line, so its dimensions never attach to the invocation's other metrics, nor to
 * another invocation's when the local runtime runs several at once.
 */
export function dimensionedMetric(
  name: MetricName,
  dimensions: Readonly<Record<string, string>>,
  value = 1,
  unit: Unit = MetricUnit.Count,
): void {
  dimensionedMetrics(dimensions, [{ name, value, unit }]);
}

/** Several metrics sharing one set of dimensions, in one line (redemptions and their value by currency). */
export function dimensionedMetrics(
  dimensions: Readonly<Record<string, string>>,
  values: readonly { readonly name: MetricName; readonly value: number; readonly unit?: Unit }[],
): void {
  const single = new Metrics();
  single.addDimensions({ ...dimensions });
  for (const { name, value, unit } of values) single.addMetric(name, unit ?? MetricUnit.Count, value);
  publish(single);
}

/** Writes the invocation's metrics (a no-op when there are none). Call once at the end of an invocation. */
export function flushMetrics(): void {
  publish(metrics);
}

function publish(instance: Metrics): void {
  if (!instance.hasStoredMetrics()) return;
  try {
    write(instance);
  } catch (error) {
    instance.clearMetrics();
    logger.warn('Metrics not written', { error: error as Error });
  }
}

function write(instance: Metrics): void {
  const file = process.env.METRICS_LOCAL_FILE;
  if (!file) {
    instance.publishStoredMetrics();
    return;
  }
  const line = JSON.stringify(instance.serializeMetrics());
  instance.clearMetrics();
  instance.clearDimensions();
  instance.clearMetadata();
  appendFileSync(file, `${line}\n`);
}
