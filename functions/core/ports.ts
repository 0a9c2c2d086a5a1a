/** The logging and metrics ports every handler receives; the adapters wrap Powertools. */

/** Structured logger. Messages are short and lowercase; data goes in the second argument. */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export type MetricName =
  // ingest
  | 'Received'
  | 'Accepted'
  | 'Quarantined'
  /** Every 401, whatever its reason (the `AuthenticationFailures` alarm counts these). */
  | 'RejectedUnauthorized'
  /** Of those 401s: an authentic event for an account its credential is not bound to. */
  | 'RejectedUnboundAccount'
  | 'RejectedBadRequest'
  | 'RejectedUnsupportedMediaType'
  | 'RejectedTooLarge'
  /** Local runner only: in AWS, API Gateway answers unknown paths before the function runs. */
  | 'RejectedNotFound'
  | 'EnqueueFailed'
  // consumer
  | 'Applied'
  | 'Stale'
  | 'Recorded'
  | 'QuarantineRecorded'
  | 'Duplicate'
  /** A known event key arrived with a different body: the first stays applied, the second is kept. */
  | 'Conflict'
  /** The store refused the event for good (a mapping bug, a value DynamoDB rejects): recorded with its reason. */
  | 'Unprocessable'
  | 'RecordFailed';

export interface Metrics {
  count(name: MetricName, value?: number): void;
  /** Writes what was counted during this invocation. */
  flush(): void;
}

export type Clock = () => Date;

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
