import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  LogQueryVisualizationType,
  LogQueryWidget,
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
import { jobStreamSource } from './job-events.ts';

/** What {@link Monitoring} watches of job change events (`job-events.ts`). */
export interface JobEventsMonitoring {
  /** Where the event source mapping on the jobs table's stream sends the batches it gave up on. */
  readonly deadLetterQueue: IQueue;
  /** The function that mapping invokes, which publishes to the bus. */
  readonly publish: IFunction;
  /** The example subscriber's DLQ, when it is on (`jobEventsForwardUrl`): charted, not alarmed. */
  readonly forwardDeadLetterQueue?: IQueue;
}

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
  /** With its log group, whose `event processed` lines the dashboard counts. */
  readonly consumer: IFunction & { readonly logGroup: ILogGroup };
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
  /** Job change events: their DLQ's alarm and their dashboard widgets. */
  readonly jobEvents: JobEventsMonitoring;
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
 * Four days before SQS deletes a dead-lettered event (10 of the 14 days' retention): the
 * `DeadLetterQueueNearRetention` alarm's threshold on the age of the DLQ's oldest message, and the
 * line the dashboard draws there, leaving time to fix the cause and `redrive` over a weekend. The
 * DLQ's `ApproximateAgeOfOldestMessage` counts from the message's move to the DLQ, while its
 * expiry counts from its first enqueue, so an event that also waited in the queue has less left
 * than the line says.
 */
export const deadLetterAgeThresholdSeconds = queueRetentionSeconds - 4 * 24 * 60 * 60;

/**
 * A message that keeps failing lives through `maxReceiveCount` visibility timeouts before it moves
 * to the DLQ (which has its own alarm). A message older than that, plus one alarm period, means the
 * consumer is not keeping up or not polling at all.
 */
export const oldestMessageAgeThresholdSeconds = queueVisibilityTimeoutSeconds * maxReceiveCount + 300;

/**
 * The alarms and the dashboard. Custom metrics are the functions' Powertools counters (EMF,
 * dimension `service` = `ingest` | `consume`, names from `customMetrics` in
 * `functions/core/ports.ts`), each written only when something goes wrong, and the 429s counted
 * from the access log; the rest are the free AWS metrics of the API, the functions and the queues,
 * and per-event counts come from the logs through Logs Insights widgets.
 *
 * Alarms cost $0.10 a month per metric they evaluate, and an account's first 10 alarm metrics are
 * free (https://aws.amazon.com/cloudwatch/pricing/): there are 11, one metric each, so a new
 * signal shares an alarm (or a dashboard widget) rather than adding one. The eleventh,
 * `DeadLetterQueueNearRetention`, is a second notice before SQS deletes what may be the only copy
 * of an event: worth its $0.10. The example subscriber's DLQ (`jobEventsForwardUrl`, off by
 * default) is charted, not alarmed. Three signals have no alarm of their own because another alarm
 * fires for the same incident, as their descriptions say: enqueue failures (answered 503:
 * `Ingest5xx`), consumer throttles (the queue ages: `OldestMessageAge`), and consumer errors and
 * timeouts (the batch is retried and, failing on, dead-lettered: `DeadLetterQueueNotEmpty`, or the
 * queue ages).
 */
export class Monitoring extends Construct {
  readonly alarms: readonly Alarm[];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { api, ingest, consumer, queue, deadLetterQueue, jobEvents } = props;
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
    //   CLI), and an empty one stays OK. Right after the first deploy the alarm starts in
    //   INSUFFICIENT_DATA; CloudFormation has just created (touched) the DLQ, so its depth (0) is
    //   reported within minutes and it settles in OK, mailing OK once as every alarm does. An
    //   alarm created (or renamed) while the DLQ sits untouched stays INSUFFICIENT_DATA, not OK,
    //   until the queue is next touched; updating an existing alarm keeps its state.
    const deadLetterMissingData = { treatMissingData: TreatMissingData.IGNORE };
    // The job events DLQ, read the same way: a gap is not "empty".
    const jobEventsDlqDepth = jobEvents.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period,
      statistic: Stats.MAXIMUM,
    });
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
        `Events failed every retry and wait in the DLQ: a record that kept failing ("event failed" in the consumer log), or the consumer failing as a whole (an error or timeout returns its batch, which lands here after ${maxReceiveCount} receives; consumer errors have no alarm of their own). Fix the cause, then ${redrive} them. SQS deletes them ${retentionDays} days after they were first received; DeadLetterQueueNearRetention fires on day ${deadLetterAgeThresholdSeconds / 86_400}. This alarm stays in ALARM until the DLQ is seen empty, even when SQS stops reporting an untouched queue.`,
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
        `A queued event is older than ${oldestMessageAgeThresholdSeconds} s: the consumer is not keeping up, is throttled (the account or Region is out of Lambda concurrency; throttles have no alarm of their own, since they show here) or is not polling (the event source mapping disabled, or every invocation failing). On the dashboard: "Functions: errors and throttles" and the queue's depth. Busy: raise -c consumerMaxConcurrency. Throttled: free or raise the account's Lambda concurrency. Failing: the consumer log says why.`,
      ),
      alarm(
        'Ingest5xx',
        api.metricServerError({ period, statistic: Stats.SUM }),
        1,
        'The webhook API answered 5xx: those deliveries were not accepted (the providers retry them). The ingest log group says why: "enqueue failed" (the queue did not take the event: a missing permission or queue is ours to fix, SQS throttling or an outage passes; enqueue failures answer 503 and have no alarm of their own, the dashboard counts them as EnqueueFailed), the credentials secret not filled in or invalid (README: Deploy), or "ingest failed" (a bug). No log line: the function timed out or was throttled (dashboard: "Functions: errors and throttles").',
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
        'AuthenticationFailures',
        ingestCounter('RejectedUnauthorized'),
        props.authFailureThreshold,
        'Many deliveries failed authentication: someone is probing the endpoint, or a provider is using a secret or token this stack does not have (a rotation half done?), or a credential bound to businesses signs events for another one (RejectedUnboundAccount; the ingest log says "account not bound": bind the business in the credentials secret, README: Deploy).',
      ),
      alarm(
        'QuarantinedEvents',
        ingestCounter('Quarantined'),
        1,
        `Authentic events failed the provider schema or the admission checks: they were accepted and stored as quarantined, not applied. \`npm run cli -- events --outcome quarantined --stage ${props.stage}\` lists them with their issues; fix the schema (or ask the sender to), then \`npm run cli -- replay --outcome quarantined --stage ${props.stage}\`.`,
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
      alarm(
        'JobEventsDeadLetterQueueNotEmpty',
        jobEventsDlqDepth,
        1,
        `Job change events were not published: a batch of jobs table stream records failed the publish function or the event bus on each of ${jobStreamSource.retryAttempts} retries (or aged past ${jobStreamSource.maxRecordAgeSeconds / 3600} hours), and the event source mapping on the stream gave up on it and sent it to the job events DLQ. Look at the publish function's log ("job changes failed": the record, the change id, the error) and the dashboard's job events widgets. A DLQ message holds the batch's stream metadata (shard, sequence numbers, arrival times), not the jobs, and the stream keeps records 24 hours, so nothing can be replayed later; the jobs table still holds each job's current state: after the fix, tell the subscribers which window to re-read (\`npm run cli -- jobs --stage ${props.stage}\`), then purge the DLQ (aws sqs purge-queue). Ingest and the consumer are not affected.`,
        deadLetterMissingData,
      ),
    ];

    const graph = (title: string, left: IMetric[], width = 8) =>
      new GraphWidget({ title, left, width, height: 6, period });
    // Per-event counts from the log lines each event writes: no custom metric (one published every
    // hour costs $0.30 a month), and a query runs, billed per GB scanned, only when someone looks.
    // Hourly bins: a week of 5-minute bins for every outcome would pass the 10,000 rows a query
    // returns.
    const logCounts = (title: string, logGroup: ILogGroup, queryLines: string[]) =>
      new LogQueryWidget({
        title,
        logGroupNames: [logGroup.logGroupName],
        queryLines,
        view: LogQueryVisualizationType.STACKEDAREA,
        width: 12,
        height: 6,
      });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          `# Field webhooks (${props.stage})`,
          'provider → **HTTP API** → **ingest** (authenticate, validate) → **queue** (+ DLQ) → **consumer** (dedupe, persist) → DynamoDB → jobs stream → **publish** (+ DLQ) → job events bus',
          "Volumes are AWS's own metrics and the logs' hourly counts; the custom metrics count only what went wrong.",
        ].join('\n\n'),
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      graph('Ingest: requests → queued | quarantined', [
        api.metricCount({ period, statistic: Stats.SUM, label: 'requests' }),
        // Accepted and quarantined deliveries; CLI replays and redrives send too.
        queue.metricNumberOfMessagesSent({ period, statistic: Stats.SUM, label: 'queued' }),
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
      logCounts('API answers by status, hourly (access log)', props.accessLogs, [
        'stats count(*) as answers by status, bin(1h)',
      ]),
      logCounts('Consumer outcomes, hourly ("event processed" log lines)', consumer.logGroup, [
        'filter message = "event processed"',
        'stats count(*) as events by outcome, bin(1h)',
      ]),
    );
    this.dashboard.addWidgets(
      graph('Consumer: what needs a look', [
        consumeCounter('Conflict'),
        consumeCounter('Unprocessable'),
        // Retried, and dead-lettered after the redrive count; the DLQ widget shows those.
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
        rightAnnotations: [
          {
            value: deadLetterAgeThresholdSeconds,
            label: `${(queueRetentionSeconds - deadLetterAgeThresholdSeconds) / 86_400} days before SQS deletes it`,
          },
        ],
        width: 8,
        height: 6,
        period,
      }),
    );
    this.dashboard.addWidgets(
      // Each batch the event source mapping reads from the stream is one invocation; a batch with a
      // record not published is retried from that record, and counted an error only when the
      // function fails it whole (a timeout, an unexpected error).
      graph('Job events: publish invocations and errors', [
        jobEvents.publish.metricInvocations({ period, statistic: Stats.SUM, label: 'publish invocations' }),
        jobEvents.publish.metricErrors({ period, statistic: Stats.SUM, label: 'publish function errors' }),
      ]),
      graph('Job events: dead-letter queues', [
        jobEventsDlqDepth.with({ label: 'job events DLQ' }),
        ...(jobEvents.forwardDeadLetterQueue
          ? [
              jobEvents.forwardDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
                period,
                statistic: Stats.MAXIMUM,
                label: 'forwarder DLQ (no alarm)',
              }),
            ]
          : []),
      ]),
      // How far behind the stream the mapping is: the age of the last record of each batch when it
      // reached the function. It grows while a batch is retried, and a day is where records go to
      // the DLQ (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
      graph('Job events: stream iterator age, max (ms)', [
        jobEvents.publish.metric('IteratorAge', {
          period,
          statistic: Stats.MAXIMUM,
          label: 'iterator age (ms)',
        }),
      ]),
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
