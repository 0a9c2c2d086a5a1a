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
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MetricName } from '#core/ports';
import { maxReceiveCount, queueRetentionSeconds, queueVisibilityTimeoutSeconds } from '#infra/definitions';

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
  /** `RejectedUnauthorized` deliveries (every 401) in five minutes that count as a spike. */
  readonly authFailureThreshold: number;
  /** The HTTP API's access log group (JSON lines with `status` and `routeKey`). */
  readonly accessLogs: ILogGroup;
  /** 429s in each of {@link sustainedPeriods} five-minute periods in a row that raise `ApiThrottled`. */
  readonly throttledThreshold: number;
  /** 4xx answers in each of {@link sustainedPeriods} five-minute periods in a row that raise `Api4xx`. */
  readonly clientErrorThreshold: number;
}

const period = Duration.minutes(5);

/** Periods in a row that make a rate "sustained": 15 minutes, longer than a provider's retry burst. */
export const sustainedPeriods = 3;

/**
 * The metric the access log metric filter writes, one per 429 answer. HTTP APIs publish no metric
 * of their own for throttled requests: a 429 is only one of the `4xx`.
 */
export const throttledMetricName = 'ApiThrottled';

/**
 * Four days before SQS deletes a dead-lettered event (10 of the 14 days' retention): time to fix
 * the cause and `redrive`, over a weekend. The DLQ's `ApproximateAgeOfOldestMessage` counts from
 * the message's move to the DLQ, while its expiry counts from its first enqueue, so an event that
 * also waited in the queue (the `OldestMessageAge` alarm) has less left than the margin says.
 * SQS documents this age as reported while the queue holds a message; should its metrics still
 * stop (see below), this alarm keeps its state like the depth alarm. It is a second reminder:
 * `DeadLetterQueueNotEmpty` is the call to act.
 */
export const deadLetterAgeThresholdSeconds = queueRetentionSeconds - 4 * 24 * 60 * 60;

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

    const alarm = (
      alarmId: string,
      metric: IMetric,
      threshold: number,
      description: string,
      options: { evaluationPeriods?: number; treatMissingData?: TreatMissingData } = {},
    ) => {
      const { evaluationPeriods = 1 } = options;
      const created = new Alarm(this, alarmId, {
        alarmName: `${props.alarmPrefix}${alarmId}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
        // Counters are only written when something happens; silence is healthy.
        treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(props.alarmTopic));
      created.addOkAction(new SnsAction(props.alarmTopic));
      return created;
    };

    const dlqDepth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period,
      statistic: Stats.MAXIMUM,
    });
    const dlqAge = deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM });
    const oldestAge = queue.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM });
    const retentionDays = queueRetentionSeconds / 86_400;
    const redrive = `\`npm run cli -- redrive --stage ${props.stage}\``;
    const sustained = `${sustainedPeriods * period.toMinutes()} minutes`;
    // SQS publishes a queue's metrics only while the queue is active (it holds messages, or an API
    // call touched it in the last six hours), and the issue that prompted this saw the DLQ's stop
    // while events waited in it. Whatever the cause, the alarm must not read a gap as "empty".
    // - NOT_BREACHING would then clear the alarm and mail OK while the events near their expiry.
    // - BREACHING would raise it for every healthy stage too: an empty DLQ that nothing touches
    //   stops reporting just the same.
    // - IGNORE keeps the last state: a DLQ seen holding messages stays in ALARM until a datapoint
    //   says otherwise, which happens when the queue is touched again (`redrive`, the console, the
    //   CLI), and an empty one stays OK. Right after the first deploy the alarms start in
    //   INSUFFICIENT_DATA; CloudFormation has just created (touched) the DLQ, so its depth (0) is
    //   reported within minutes and they settle in OK, mailing OK once as every alarm does. An
    //   alarm created (or renamed) while the DLQ sits untouched stays INSUFFICIENT_DATA, not OK,
    //   until the queue is next touched; updating an existing alarm keeps its state.
    const deadLetterMissingData = { treatMissingData: TreatMissingData.IGNORE };
    // Throttled requests never reach the function; API Gateway logs them with status 429 in the
    // access log (`$context.status`, a JSON string there), and this filter counts them.
    const throttled = new MetricFilter(this, 'ThrottledRequests', {
      logGroup: props.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: props.metricsNamespace,
      metricName: throttledMetricName,
      metricValue: '1',
    }).metric({ period, statistic: Stats.SUM });
    this.alarms = [
      alarm(
        'DeadLetterQueueNotEmpty',
        dlqDepth,
        1,
        `Events failed every retry and wait in the DLQ. Read the consumer logs for the cause, fix it, then ${redrive} them (they expire ${retentionDays} days after they were first received). This alarm stays in ALARM until the DLQ is seen empty, even when SQS stops reporting an untouched queue.`,
        deadLetterMissingData,
      ),
      alarm(
        'DeadLetterQueueNearRetention',
        dlqAge,
        deadLetterAgeThresholdSeconds,
        `An event has waited in the DLQ for ${deadLetterAgeThresholdSeconds / 86_400} days; SQS deletes it ${retentionDays} days after it first entered the queue (sooner if it also waited there). Fix the cause and ${redrive} now: the DLQ may hold the only copy of these events.`,
        deadLetterMissingData,
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
        'ApiThrottled',
        throttled,
        props.throttledThreshold,
        `API Gateway answered 429 (throttled) at least ${props.throttledThreshold} times in every 5 minutes for ${sustained}: a route is at its limit. Providers retry, but their deliveries are delayed. In Logs Insights on the API access log group: filter status = "429" | stats count() by routeKey, sourceIp. The provider's own traffic: raise that route's limit (-c <provider>RateLimit and <provider>BurstLimit) and redeploy. Other callers on a URL: the other routes are unaffected (each has its own limit); rotate the token if a URL with one leaked (README: Rotating).`,
        { evaluationPeriods: sustainedPeriods },
      ),
      alarm(
        'Api4xx',
        api.metricClientError({ period, statistic: Stats.SUM }),
        props.clientErrorThreshold,
        `The webhook API answered 4xx at least ${props.clientErrorThreshold} times in every 5 minutes for ${sustained}. In Logs Insights on the API access log group: stats count() by status, routeKey. 401: a secret or token the stack does not have, or probing (AuthenticationFailures); 400, 413, 415: a provider changed what it sends (the ingest log names the reason); 404: paths that are no webhook route, usually scanners; 429: see ApiThrottled.`,
        { evaluationPeriods: sustainedPeriods },
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
        'Many deliveries failed authentication: someone is probing the endpoint, or a provider is using a secret or token this stack does not have (a rotation half done?), or a credential bound to businesses signs events for another one (RejectedUnboundAccount; the ingest log says "account not bound": bind the business in the credentials secret, README: Deploy).',
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
        // A part of the 401s: authentic events for an account their credential is not bound to.
        ingestCounter('RejectedUnboundAccount').with({ label: 'RejectedUnboundAccount (of the 401s)' }),
        ingestCounter('RejectedBadRequest'),
        ingestCounter('RejectedUnsupportedMediaType'),
        ingestCounter('RejectedTooLarge'),
        ingestCounter('EnqueueFailed'),
      ]),
      graph('API: requests and errors', [
        api.metricCount({ period, statistic: Stats.SUM }),
        api.metricClientError({ period, statistic: Stats.SUM }),
        throttled.with({ label: '429 (throttled)' }),
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
      new GraphWidget({
        title: 'Dead-letter queue: depth and oldest (s)',
        left: [dlqDepth],
        right: [dlqAge.with({ label: 'oldest DLQ message (s)' })],
        rightAnnotations: [{ value: deadLetterAgeThresholdSeconds, label: 'DeadLetterQueueNearRetention' }],
        width: 8,
        height: 6,
        period,
      }),
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
