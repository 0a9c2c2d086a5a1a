import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MetricName } from '#core/ports';
import { maxReceiveCount, queueVisibilityTimeoutSeconds } from '#infra/definitions';

/** Properties of {@link Monitoring}. */
export interface MonitoringProps {
  readonly dashboardName: string;
  /** Prepended to every alarm's name (the alarm topic's policy admits alarms by this prefix). */
  readonly alarmPrefix: string;
  readonly stage: string;
  /** Namespace the functions write their embedded metrics to (`POWERTOOLS_METRICS_NAMESPACE`). */
  readonly metricsNamespace: string;
  readonly api: IHttpApi;
  readonly ingest: IFunction;
  readonly consumer: IFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** Every alarm notifies it when it fires and when it clears. */
  readonly alarmTopic: ITopic;
  /** `RejectedUnauthorized` deliveries in five minutes that count as a spike. */
  readonly authFailureThreshold: number;
}

const period = Duration.minutes(5);

/**
 * A message that keeps failing lives through `maxReceiveCount` visibility timeouts before it moves
 * to the DLQ (which has its own alarm). A message older than that, plus one alarm period, means the
 * consumer is not keeping up or not polling at all.
 */
export const oldestMessageAgeThresholdSeconds = queueVisibilityTimeoutSeconds * maxReceiveCount + 300;

/**
 * The alarms and the dashboard. Pipeline metrics are the functions' Powertools counters (EMF,
 * dimension `service` = `ingest` | `consume`, names from `functions/core/ports.ts`); the rest are
 * the AWS metrics of the API, the functions and the queues.
 */
export class Monitoring extends Construct {
  readonly alarms: readonly Alarm[];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { api, ingest, consumer, queue, deadLetterQueue } = props;
    const counter = (service: 'ingest' | 'consume', metricName: MetricName) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service },
        statistic: Stats.SUM,
        period,
      });
    const ingestCounter = (name: MetricName) => counter('ingest', name);
    const consumeCounter = (name: MetricName) => counter('consume', name);

    const alarm = (alarmId: string, metric: IMetric, threshold: number, description: string) => {
      const created = new Alarm(this, alarmId, {
        alarmName: `${props.alarmPrefix}${alarmId}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // Counters are only written when something happens; silence is healthy.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(props.alarmTopic));
      created.addOkAction(new SnsAction(props.alarmTopic));
      return created;
    };

    const dlqDepth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period,
      statistic: Stats.MAXIMUM,
    });
    const oldestAge = queue.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM });
    this.alarms = [
      alarm(
        'DeadLetterQueueNotEmpty',
        dlqDepth,
        1,
        'Events failed every retry and wait in the DLQ. Read the consumer logs for the cause, fix it, then `redrive` them (they expire 14 days after they were first received).',
      ),
      alarm(
        'OldestMessageAge',
        oldestAge,
        oldestMessageAgeThresholdSeconds,
        `A queued event is older than ${oldestMessageAgeThresholdSeconds} s: the consumer is not keeping up, is throttled or is not polling. Check consumer errors, throttles and maximum concurrency.`,
      ),
      alarm(
        'ConsumerErrors',
        consumer.metricErrors({ period, statistic: Stats.SUM }),
        1,
        'The consumer function failed or timed out as a whole (not a single record): its batch will be retried. Read its logs.',
      ),
      alarm(
        'ConsumerThrottles',
        consumer.metricThrottles({ period, statistic: Stats.SUM }),
        1,
        'The consumer was throttled: the account or Region is out of Lambda concurrency. Events wait in the queue meanwhile.',
      ),
      alarm(
        'Ingest5xx',
        api.metricServerError({ period, statistic: Stats.SUM }),
        5,
        'The webhook API answered 5xx at least 5 times in 5 minutes: providers retry, but those deliveries are not being accepted. Usual causes: the credentials secret not filled in or invalid (README: Deploy), SQS unavailable (see IngestEnqueueFailed), or an ingest bug. The ingest log group says "ingest failed" or "enqueue failed".',
      ),
      alarm(
        'IngestEnqueueFailed',
        ingestCounter('EnqueueFailed'),
        1,
        'The ingest function could not put an authenticated event on the queue and answered 503; the provider will retry.',
      ),
      alarm(
        'AuthenticationFailures',
        ingestCounter('RejectedUnauthorized'),
        props.authFailureThreshold,
        'Many deliveries failed authentication: someone is probing the endpoint, or a provider is using a secret or token this stack does not have (a rotation half done?).',
      ),
      alarm(
        'QuarantinedEvents',
        ingestCounter('Quarantined'),
        1,
        'Authentic events did not match the provider schema; they were accepted and stored as quarantined. Inspect them (CLI `events`), fix the schema, then `replay` them.',
      ),
      alarm(
        'Conflicts',
        consumeCounter('Conflict'),
        1,
        `A known event key arrived with a different body: the first stays applied, the second is kept in the event log as a conflict record. \`npm run cli -- events --outcome conflict --stage ${props.stage}\` lists them.`,
      ),
      alarm(
        'Unprocessable',
        consumeCounter('Unprocessable'),
        1,
        `The store refused an event for good (a value DynamoDB rejects, or a mapping bug): it is recorded in the event log with outcome unprocessable and its reason, not retried. \`npm run cli -- events --outcome unprocessable --stage ${props.stage}\` lists them and \`events show <key>\` gives the reason; after a fix, \`npm run cli -- replay --outcome unprocessable --stage ${props.stage}\`.`,
      ),
    ];

    const graph = (title: string, left: IMetric[], width = 8) =>
      new GraphWidget({ title, left, width, height: 6, period });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          `# Field webhooks (${props.stage})`,
          'provider → **HTTP API** → **ingest** (authenticate, validate) → **queue** (+ DLQ) → **consumer** (dedupe, persist) → DynamoDB',
        ].join('\n\n'),
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Ingest: received → accepted | quarantined', [
        ingestCounter('Received'),
        ingestCounter('Accepted'),
        ingestCounter('Quarantined'),
      ]),
      graph('Ingest: rejected, by reason', [
        ingestCounter('RejectedUnauthorized'),
        ingestCounter('RejectedBadRequest'),
        ingestCounter('RejectedUnsupportedMediaType'),
        ingestCounter('RejectedTooLarge'),
        ingestCounter('EnqueueFailed'),
      ]),
      graph('API: requests and errors', [
        api.metricCount({ period, statistic: Stats.SUM }),
        api.metricClientError({ period, statistic: Stats.SUM }),
        api.metricServerError({ period, statistic: Stats.SUM }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Consumer: outcomes', [
        consumeCounter('Applied'),
        consumeCounter('Stale'),
        consumeCounter('Recorded'),
        consumeCounter('QuarantineRecorded'),
        consumeCounter('Duplicate'),
        consumeCounter('Conflict'),
        consumeCounter('Unprocessable'),
        consumeCounter('RecordFailed'),
      ]),
      graph('Queue: waiting and oldest (s)', [
        queue.metricApproximateNumberOfMessagesVisible({ period, statistic: Stats.MAXIMUM }),
        oldestAge,
      ]),
      graph('Dead-letter queue: depth', [dlqDepth]),
    );
    this.dashboard.addWidgets(
      graph('Functions: errors and throttles', [
        ingest.metricErrors({ period, statistic: Stats.SUM, label: 'ingest errors' }),
        ingest.metricThrottles({ period, statistic: Stats.SUM, label: 'ingest throttles' }),
        consumer.metricErrors({ period, statistic: Stats.SUM, label: 'consumer errors' }),
        consumer.metricThrottles({ period, statistic: Stats.SUM, label: 'consumer throttles' }),
      ]),
      graph('Latency p99 (ms)', [
        api.metricLatency({ period, statistic: Stats.p(99), label: 'API' }),
        ingest.metricDuration({ period, statistic: Stats.p(99), label: 'ingest' }),
        consumer.metricDuration({ period, statistic: Stats.p(99), label: 'consumer' }),
      ]),
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms], width: 8, height: 6 }),
    );
  }
}
