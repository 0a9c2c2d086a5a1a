/** The logging and metrics ports every handler receives; the adapters wrap Powertools. */

/** Structured logger. Messages are short and lowercase; data goes in the second argument. */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/**
 * When a custom metric is published, which is what CloudWatch bills: $0.30 a month per metric,
 * prorated by the hour and only for the hours in which it is published
 * (https://aws.amazon.com/cloudwatch/pricing/). `perEvent`: with (nearly) every event, so the full
 * $0.30 at any steady volume; `failure`: only when something goes wrong, so next to nothing in a
 * healthy month.
 */
export type MetricPublication = 'perEvent' | 'failure';

/**
 * Every custom metric the functions publish (Powertools EMF, namespace `FieldWebhooks/<stage>`,
 * dimension `service`: each name is counted by one function only), and when. All of them count
 * something going wrong. What every event does is in one log line instead (the ingest's `event
 * accepted`, the consumer's `event processed` with its outcome), which the dashboard counts with
 * Logs Insights beside AWS's own free metrics (API requests, messages sent). The monthly cost model
 * (`bench/cost.ts`) prices this list, so a name added here is a name it charges for.
 */
export const customMetrics = {
  // ingest
  /** An authentic event failed the schema or the admission checks: accepted, stored as quarantined. */
  Quarantined: 'failure',
  /** Every 401, whatever its reason (the `AuthenticationFailures` alarm counts these). */
  RejectedUnauthorized: 'failure',
  /** Of those 401s: an authentic event for an account its credential is not bound to. */
  RejectedUnboundAccount: 'failure',
  RejectedBadRequest: 'failure',
  RejectedUnsupportedMediaType: 'failure',
  RejectedTooLarge: 'failure',
  /** Local runner only: in AWS, API Gateway answers unknown paths before the function runs. */
  RejectedNotFound: 'failure',
  /** The queue did not take the event (SQS refused or unreachable): answered 503, as `Ingest5xx` counts. */
  EnqueueFailed: 'failure',
  // consumer
  /** A known event key arrived with a different body: the first stays applied, the second is kept. */
  Conflict: 'failure',
  /** The store refused the event for good (a mapping bug, a value DynamoDB rejects): recorded with its reason. */
  Unprocessable: 'failure',
  /** A record failed and goes back to the queue, to be retried and after the redrive count dead-lettered. */
  RecordFailed: 'failure',
} as const satisfies Record<string, MetricPublication>;

export type MetricName = keyof typeof customMetrics;

export interface Metrics {
  count(name: MetricName, value?: number): void;
  /** Writes what was counted during this invocation. */
  flush(): void;
}

export type Clock = () => Date;

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
