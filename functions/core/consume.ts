import * as v from 'valibot';
import { sha256Hex } from './crypto.ts';
import { errorDescription } from './errors.ts';
import { clipFields, eventTimeOrder, type JobFields, lifecycleOrder } from './job.ts';
import { type JsonObject, parseJsonObject } from './json.ts';
import { admissionIssues } from './limits.ts';
import { type Issue, QueueMessage } from './message.ts';
import type { Clock, Logger } from './ports.ts';
import type { Provider } from './provider.ts';
import { otherAccountReason } from './rules.ts';

export type Outcome = 'applied' | 'stale' | 'recorded' | 'quarantined' | 'unprocessable';

/** One event log record, as the store writes it. */
export interface EventRecord {
  provider: string;
  eventKey: string;
  eventType: string;
  accountId: string | undefined;
  entityIds: Record<string, string>;
  occurredAt: string | undefined;
  receivedAt: string;
  processedAt: string;
  /** The body exactly as received (UTF-8 text); absent only when even the reason record could not hold it. */
  rawBody: string | undefined;
  /** SHA-256 (hex) of the raw body, kept when the body itself could not be stored. */
  bodySha256?: string;
  /**
   * The provider's fingerprint of the body (`Envelope.fingerprint`), kept with the dedupe marker:
   * a later delivery under the same key with another fingerprint is a conflict, not a duplicate.
   */
  fingerprint: string | undefined;
  headers: Record<string, string>;
  issues: Issue[] | undefined;
  /** Why an `unprocessable` event could not be applied: error name, code and message, one line. */
  reason?: string;
  /** Epoch seconds after which the record (and so the dedupe marker) may be deleted; none = forever. */
  expiresAt: number | undefined;
  replay: boolean;
}

/** The job side of an event that names a job. */
export interface JobWrite {
  provider: string;
  jobId: string;
  accountId: string | undefined;
  fields: JobFields;
  eventKey: string;
  eventType: string;
  /**
   * The event's body fingerprint, kept on the job: an event under the job's latest key with
   * another fingerprint is a conflict even when its log record is gone (past the dedupe horizon).
   */
  fingerprint: string | undefined;
  /**
   * Sortable text that orders the job's events, compared before the event key (so two consumers
   * break a tie the same way): the event time for providers that send one, `lifecycleOrder` for
   * events that carry a lifecycle stage. A job only moves forward; an event behind it is `stale`
   * and only fills fields that are still empty.
   */
  order: string;
  /** The lifecycle stage, when the event carries one (kept on the job for operators). */
  stage: number | undefined;
  /** The event time: the provider's, else the receive time (ISO 8601 UTC). */
  eventAt: string;
  now: string;
}

/**
 * `duplicate`: the key was seen with the same fingerprint (a redelivery), nothing written.
 * `conflict`: the key was seen with another body; this one is kept in a record of its own.
 */
export type StoreResult = Outcome | 'duplicate' | 'conflict';

/**
 * Port: the event log and jobs tables. What each call writes and answers is decided by the rules
 * (functions/core/rules.ts: `decideRecord`, `decideApply`); a store only keeps those decisions
 * atomic. `MemoryEventStore` is the reference, `DynamoEventStore` the deployed one.
 */
export interface EventStore {
  /** Writes the event log record alone (non-job, quarantined and unprocessable events). */
  record(
    event: EventRecord,
    outcome: 'recorded' | 'quarantined' | 'unprocessable',
  ): Promise<'recorded' | 'quarantined' | 'unprocessable' | 'duplicate' | 'conflict'>;
  /**
   * Writes the event log record and the job change together, respecting the job's ordering.
   * `unprocessable`: the rules refused the event (its job belongs to another account); it is
   * recorded with that reason (`otherAccountReason`) and the job is untouched.
   */
  apply(
    event: EventRecord,
    job: JobWrite,
  ): Promise<'applied' | 'stale' | 'duplicate' | 'conflict' | 'unprocessable'>;
}

/** The message cannot be read at all: it fails, is retried, and ends in the DLQ for a human. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/**
 * Thrown by a store when the write was refused for a reason that will not change on a retry (the
 * request was invalid, or could not even be built). Anything else a store throws is transient.
 */
export class PermanentStoreError extends Error {
  override name = 'PermanentStoreError';
}

/**
 * Not even a record of the reason could be stored in full: a record with the reason and the body's
 * hash was written if possible, and the message goes to the DLQ, where its body is kept.
 */
export class UnstorableEventError extends Error {
  override name = 'UnstorableEventError';
}

export interface ConsumeDeps {
  providers: ReadonlyMap<string, Provider>;
  store: EventStore;
  clock: Clock;
  dedupeHorizonDays: number;
  /** Seconds an event's own time may lie after its receipt (see `admissionIssues`). */
  eventTimeSkewSeconds: number;
  /** Receives one line per event recorded as unprocessable, with its reason. */
  logger?: Logger;
}

/**
 * Processes one queue message. Resolves with what happened; rejects only for what a retry can
 * change (the store unavailable, throttled, timing out): the record then fails alone and SQS
 * redelivers it. A failure that would repeat on every receive (a mapping bug, a value the store
 * refuses) is recorded as `unprocessable` with its reason instead of looping into the DLQ.
 */
export async function consume(messageBody: string, deps: ConsumeDeps): Promise<StoreResult> {
  const message = readMessage(messageBody);
  const raw = Buffer.from(message.bodyBase64, 'base64');
  const now = deps.clock();
  const base: EventRecord = {
    provider: message.provider,
    eventKey: message.eventKey,
    eventType: message.eventType,
    accountId: undefined,
    entityIds: {},
    occurredAt: undefined,
    receivedAt: message.receivedAt,
    processedAt: now.toISOString(),
    rawBody: raw.toString('utf8'),
    fingerprint: undefined,
    headers: message.headers,
    issues: undefined,
    expiresAt: expiry(message.receivedAt, deps.dedupeHorizonDays),
    replay: message.replay ?? false,
  };

  // Pure code over a message that will not change: whatever it throws, it throws every time.
  let identified: Identified;
  try {
    identified = identify(message, raw, base, deps);
  } catch (error) {
    return recordUnprocessable(base, error, deps);
  }
  let write: Write;
  try {
    write = plan(message, identified, now, deps);
  } catch (error) {
    return recordUnprocessable(identified.event, error, deps);
  }
  let result: StoreResult;
  try {
    result = await write(deps.store);
  } catch (error) {
    if (error instanceof PermanentStoreError) return recordUnprocessable(write.event, error, deps);
    throw error;
  }
  // Only the rules refuse an event on `apply`, and only for its account: recorded with that reason.
  if (result === 'unprocessable') logUnprocessable(write.event, otherAccountReason, deps);
  return result;
}

type Write = ((store: EventStore) => Promise<StoreResult>) & { event: EventRecord };

interface Identified {
  provider: Provider;
  body: JsonObject;
  /** The record as far as the envelope tells: account and fingerprint, when it can be read. */
  event: EventRecord;
}

/** The provider and body of a message, and what its envelope says. Throws when there is neither. */
function identify(message: QueueMessage, raw: Buffer, base: EventRecord, deps: ConsumeDeps): Identified {
  const provider = deps.providers.get(message.provider);
  // The record names the provider; the message does not repeat text from the queue.
  if (!provider) throw new Error("the message's provider is not configured in this deployment");
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) throw new Error(`message body unreadable: ${parsed.detail}`);
  const envelope = provider.envelope(parsed.value, { headers: {}, pathParameter: undefined, rawBody: raw });
  return {
    provider,
    body: parsed.value,
    event: {
      ...base,
      accountId: envelope.ok ? envelope.accountId : undefined,
      fingerprint: envelope.ok ? envelope.fingerprint : undefined,
    },
  };
}

/** Decides what to write for a message, without writing: validation, mapping and admission. */
function plan(message: QueueMessage, from: Identified, now: Date, deps: ConsumeDeps): Write {
  const write = (event: EventRecord, run: (store: EventStore) => Promise<StoreResult>): Write =>
    Object.assign(run, { event });
  const { provider, event: identified } = from;
  const quarantine = (issues: Issue[]) => {
    const event = { ...identified, issues };
    return write(event, (store) => store.record(event, 'quarantined'));
  };

  // Validated again rather than trusted: a replay after a schema fix must see the new schema.
  const validation =
    message.issues && !message.replay
      ? { ok: false as const, issues: message.issues }
      : provider.validate(from.body);
  if (!validation.ok) return quarantine(validation.issues);

  const facts = provider.describe(validation.event, { eventKey: message.eventKey });
  const issues = admissionIssues(facts, {
    // A replay is judged now: an event that was ahead of the clock may have been overtaken by it.
    reference: message.replay ? maxTime(now.toISOString(), message.receivedAt) : message.receivedAt,
    eventTimeSkewSeconds: deps.eventTimeSkewSeconds,
  });
  if (issues.length > 0) return quarantine(issues);

  const event: EventRecord = {
    ...identified,
    accountId: facts.accountId,
    entityIds: facts.entityIds,
    occurredAt: facts.occurredAt,
  };
  const job = facts.job;
  if (!job) return write(event, (store) => store.record(event, 'recorded'));
  const eventAt = facts.occurredAt ?? message.receivedAt;
  return write(event, (store) =>
    store.apply(event, {
      provider: provider.name,
      jobId: job.jobId,
      accountId: facts.accountId,
      fields: clipFields(job.fields),
      eventKey: message.eventKey,
      eventType: message.eventType,
      fingerprint: event.fingerprint,
      order:
        job.stage !== undefined
          ? lifecycleOrder(job.stage, job.stageTime, message.receivedAt)
          : facts.occurredAt !== undefined
            ? eventTimeOrder(facts.occurredAt, facts.occurredAtAsSent)
            : eventAt,
      stage: job.stage,
      eventAt,
      now: event.processedAt,
    }),
  );
}

/**
 * Records an event that will fail the same way on every receive, with its reason, so it is kept
 * (raw body included) and can be replayed after a fix. When the store refuses even that, a record
 * with the reason and the body's hash is tried, and the message goes on to the DLQ.
 */
async function recordUnprocessable(
  event: EventRecord,
  error: unknown,
  deps: ConsumeDeps,
): Promise<StoreResult> {
  const reason = describeFailure(error);
  const logged = logUnprocessable(event, reason, deps);
  try {
    return await deps.store.record({ ...event, reason }, 'unprocessable');
  } catch (failure) {
    if (!(failure instanceof PermanentStoreError)) throw failure;
    const fallbackReason = `${reason}; the record with the body was refused too: ${describeFailure(failure)}`;
    try {
      await deps.store.record(
        {
          ...event,
          rawBody: undefined,
          bodySha256: sha256Hex(event.rawBody ?? ''),
          entityIds: {},
          issues: undefined,
          reason: fallbackReason,
        },
        'unprocessable',
      );
    } catch (last) {
      if (!(last instanceof PermanentStoreError)) throw last;
    }
    deps.logger?.error('event unstorable: the message goes to the DLQ', {
      ...logged,
      reason: fallbackReason,
    });
    throw new UnstorableEventError(fallbackReason);
  }
}

/** One error line per event recorded as unprocessable, with its reason; returns what it logged. */
function logUnprocessable(event: EventRecord, reason: string, deps: ConsumeDeps) {
  const logged = { provider: event.provider, eventKey: event.eventKey, eventType: event.eventType, reason };
  deps.logger?.error('event unprocessable', logged);
  return logged;
}

/** A store's refusal already says what was refused; anything else is described by name, code and message. */
function describeFailure(error: unknown): string {
  return error instanceof PermanentStoreError ? error.message : errorDescription(error);
}

function maxTime(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function readMessage(body: string): QueueMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new PoisonMessageError('message is not JSON');
  }
  const result = v.safeParse(QueueMessage, value);
  if (!result.success) {
    throw new PoisonMessageError(
      `message does not match the queue schema at ${v.getDotPath(result.issues[0]) ?? '(root)'}`,
    );
  }
  return result.output;
}

function expiry(receivedAt: string, horizonDays: number): number | undefined {
  if (horizonDays === 0) return undefined;
  return Math.floor(Date.parse(receivedAt) / 1000) + horizonDays * 86_400;
}
