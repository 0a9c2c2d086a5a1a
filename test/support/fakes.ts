/**
 * In-memory fakes for the ports the handlers take (`createHandler(deps)`): no module mocking, no
 * AWS. Each records what it was given so a test can assert on it.
 */
import type { EventRecord, EventStore, JobWrite, StoreResult } from '#core/consume';
import type { CredentialsSource, WebhookCredentials } from '#core/credentials';
import { MemoryEventStore } from '#core/memory-store';
import type { Queue, QueueMessage } from '#core/message';
import type { Clock, Logger } from '#core/ports';
import { eventPk, jobPk, readableEvent } from '#core/records';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  data: Record<string, unknown> | undefined;
}

/** Keeps every log call; `text()` is everything logged, serialised, for "never logs X" checks. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  info(message: string, data?: Record<string, unknown>) {
    this.entries.push({ level: 'info', message, data });
  }
  warn(message: string, data?: Record<string, unknown>) {
    this.entries.push({ level: 'warn', message, data });
  }
  error(message: string, data?: Record<string, unknown>) {
    this.entries.push({ level: 'error', message, data });
  }
  text(): string {
    return JSON.stringify(this.entries);
  }
}

/** A queue that keeps what it is sent, or rejects every send with `failure` when one is set. */
export class RecordingQueue implements Queue {
  readonly messages: QueueMessage[] = [];
  failure: Error | undefined;
  async send(message: QueueMessage) {
    if (this.failure) throw this.failure;
    this.messages.push(message);
  }
}

export type StoreCall =
  | { kind: 'record'; event: EventRecord; outcome: 'recorded' | 'quarantined' | 'unprocessable' }
  | { kind: 'apply'; event: EventRecord; job: JobWrite };

/**
 * The reference store (`MemoryEventStore`, the rules themselves) behind a record of every call:
 * for tests about what the consumer asks and what the store answers.
 */
export class RecordingStore implements EventStore {
  readonly calls: StoreCall[] = [];
  constructor(readonly inner: MemoryEventStore = new MemoryEventStore()) {}

  async record(event: EventRecord, outcome: 'recorded' | 'quarantined' | 'unprocessable') {
    this.calls.push({ kind: 'record', event, outcome });
    return this.inner.record(event, outcome);
  }

  async apply(event: EventRecord, job: JobWrite) {
    this.calls.push({ kind: 'apply', event, job });
    return this.inner.apply(event, job);
  }

  /** A stored job, as the store keeps it. */
  job(provider: string, jobId: string) {
    return this.inner.snapshot().jobs.get(jobPk(provider, jobId));
  }

  /** A stored event-log record, as a reader sees it (`readableEvent`: the body as `rawBody` text). */
  event(provider: string, eventKey: string) {
    const item = this.inner.snapshot().events.get(eventPk(provider, eventKey));
    return item && readableEvent(item);
  }
}

/**
 * An event store that answers from a rule (default: the outcome asked for, `applied` for jobs),
 * for injecting what the reference store never does: `respond` may be async or throw, to model a
 * slow or failing store.
 */
export class FakeStore implements EventStore {
  readonly calls: StoreCall[] = [];
  constructor(
    private readonly respond: (call: StoreCall) => StoreResult | Promise<StoreResult> = defaultAnswer,
  ) {}

  async record(event: EventRecord, outcome: 'recorded' | 'quarantined' | 'unprocessable') {
    const call: StoreCall = { kind: 'record', event, outcome };
    this.calls.push(call);
    return (await this.respond(call)) as
      | 'recorded'
      | 'quarantined'
      | 'unprocessable'
      | 'duplicate'
      | 'conflict';
  }

  async apply(event: EventRecord, job: JobWrite) {
    const call: StoreCall = { kind: 'apply', event, job };
    this.calls.push(call);
    return (await this.respond(call)) as 'applied' | 'stale' | 'duplicate' | 'conflict' | 'unprocessable';
  }
}

function defaultAnswer(call: StoreCall): StoreResult {
  return call.kind === 'record' ? call.outcome : 'applied';
}

/** A clock stopped at one instant. */
export function fixedClock(at: Date | string): Clock {
  const instant = new Date(at);
  return () => new Date(instant);
}

/** Credentials that never change, counting how often they are read. */
export class FixedCredentials implements CredentialsSource {
  reads = 0;
  constructor(private readonly credentials: WebhookCredentials) {}
  async get() {
    this.reads += 1;
    return this.credentials;
  }
}

/**
 * An error shaped as the AWS SDK v3 throws it: its name, a fault, `$metadata` with the HTTP status
 * (400 unless `fields` says otherwise) and, for SQS, the query-protocol `Code`.
 */
export function awsError(name: string, message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId: 'c0ffee00-0000-4000-8000-000000000000', attempts: 1 },
    ...fields,
  });
}

/** A credentials source whose backing store is down. */
export class FailingCredentials implements CredentialsSource {
  constructor(private readonly error: Error) {}
  async get(): Promise<WebhookCredentials> {
    throw this.error;
  }
}

/**
 * `arrive()` resolves for everyone once `parties` callers have arrived, and rejects after
 * `timeoutMs` otherwise. A store whose calls wait on one proves those calls were in flight at the
 * same time: made one after another, the first would never see the others arrive.
 */
export function barrier(parties: number, timeoutMs = 2_000): { arrive(): Promise<void>; arrived(): number } {
  let count = 0;
  let release!: () => void;
  const open = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    arrive() {
      count += 1;
      if (count >= parties) release();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`barrier: only ${count} of ${parties} arrived`)),
          timeoutMs,
        );
      });
      return Promise.race([open, timeout]).finally(() => clearTimeout(timer));
    },
    arrived: () => count,
  };
}
