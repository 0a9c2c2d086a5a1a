import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoEventStore } from '#adapters/dynamo-store';
import { powertoolsLogger, powertoolsMetrics } from '#adapters/telemetry';
import { consumerConfig } from '#core/config';
import { type ConsumeDeps, consume } from '#core/consume';
import { errorLogLine } from '#core/errors';
import type { Logger, MetricName, Metrics } from '#core/ports';
import type { AnyProvider } from '#core/provider';
import { providers } from '#providers/index';

export interface ConsumerHandlerDeps extends ConsumeDeps {
  logger: Logger;
  metrics: Metrics;
}

// Only the outcomes an operator must look at are metrics (their alarms need one); every outcome is
// in the 'event processed' line, which the dashboard counts with Logs Insights.
const outcomeMetric: Readonly<Record<string, MetricName>> = {
  conflict: 'Conflict',
  unprocessable: 'Unprocessable',
};

/**
 * SQS batch → partial batch response. Records run concurrently; a record that fails (a transient
 * error, or one whose event could not be recorded at all) is reported alone in `batchItemFailures`
 * (the event source mapping has `ReportBatchItemFailures`), so SQS redelivers it and, after the
 * redrive count, moves it to the DLQ. Errors are logged with name, code and message, counted and
 * returned as failures, never swallowed.
 */
export function createHandler(deps: ConsumerHandlerDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const results = await Promise.allSettled(event.Records.map((record) => consume(record.body, deps)));
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    results.forEach((result, i) => {
      const record = event.Records[i];
      if (!record) return;
      if (result.status === 'fulfilled') {
        const metric = outcomeMetric[result.value];
        if (metric) deps.metrics.count(metric);
        deps.logger.info('event processed', {
          messageId: record.messageId,
          outcome: result.value,
          provider: record.messageAttributes?.provider?.stringValue,
          eventType: record.messageAttributes?.eventType?.stringValue,
        });
        return;
      }
      deps.metrics.count('RecordFailed');
      deps.logger.error('event failed', {
        messageId: record.messageId,
        receiveCount: record.attributes?.ApproximateReceiveCount,
        error: errorLogLine(result.reason),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    });
    deps.metrics.flush();
    return { batchItemFailures };
  };
}

/**
 * Built once per cold start; a bad environment fails here with the variable's name. `served` is
 * the registry unless a caller (the local stack) serves another.
 */
export function defaultDeps(
  env: NodeJS.ProcessEnv = process.env,
  served: ReadonlyMap<string, AnyProvider> = providers,
): ConsumerHandlerDeps {
  const config = consumerConfig(env);
  return {
    providers: served,
    store: new DynamoEventStore({
      eventsTableName: config.eventsTableName,
      jobsTableName: config.jobsTableName,
    }),
    clock: () => new Date(),
    dedupeHorizonDays: config.dedupeHorizonDays,
    eventTimeSkewSeconds: config.eventTimeSkewSeconds,
    logger: powertoolsLogger('consume'),
    metrics: powertoolsMetrics('consume'),
  };
}
