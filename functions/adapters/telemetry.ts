import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Logger, MetricName, Metrics } from '#core/ports';

export const metricsNamespace = 'FieldWebhooks';

/**
 * Powertools' logger: JSON lines with the level, time, service and what the core passes (the
 * handlers do not hand it their Lambda context, so no request id or cold-start flag; the Lambda
 * runtime's own START/REPORT lines carry the request id). Events, bodies and headers never are.
 */
export function powertoolsLogger(serviceName: string): Logger {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    info: (message, data) => logger.info(message, data ?? {}),
    warn: (message, data) => logger.warn(message, data ?? {}),
    error: (message, data) => logger.error(message, data ?? {}),
  };
}

/** Powertools' metrics, written as CloudWatch embedded metric format when flushed. */
export function powertoolsMetrics(serviceName: string): Metrics {
  const metrics = new PowertoolsMetrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? metricsNamespace,
    serviceName,
  });
  let pending = false;
  return {
    count: (name: MetricName, value = 1) => {
      metrics.addMetric(name, MetricUnit.Count, value);
      pending = true;
    },
    // Only when something was counted: Powertools warns on an empty flush.
    flush: () => {
      if (!pending) return;
      pending = false;
      metrics.publishStoredMetrics();
    },
  };
}
