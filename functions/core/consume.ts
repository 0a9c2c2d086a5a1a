import * as v from 'valibot';
import { clipFields, type JobFields } from './job.ts';
import { parseJsonObject } from './json.ts';
import { type Issue, QueueMessage } from './message.ts';
import type { Clock } from './ports.ts';
import type { Provider } from './provider.ts';

export type Outcome = 'applied' | 'stale' | 'recorded' | 'quarantined';

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
  /** The body exactly as received (UTF-8 text). */
  rawBody: string;
  headers: Record<string, string>;
  issues: Issue[] | undefined;
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
  /** The latest provider payload, as received. */
  payload: string;
  eventKey: string;
  eventType: string;
  /** The time that orders this job's events: the provider's event time, else the receive time. */
  eventAt: string;
  now: string;
}

export type StoreResult = Outcome | 'duplicate';

/** Port: the event log and jobs tables. Each call is one atomic write (or none). */
export interface EventStore {
  /** Writes the event log record alone (non-job events, quarantined events). */
  record(
    event: EventRecord,
    outcome: 'recorded' | 'quarantined',
  ): Promise<'recorded' | 'quarantined' | 'duplicate'>;
  /** Writes the event log record and the job change together, respecting the job's ordering. */
  apply(event: EventRecord, job: JobWrite): Promise<'applied' | 'stale' | 'duplicate'>;
}

/** The message cannot be read at all: it fails, is retried, and ends in the DLQ for a human. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

export interface ConsumeDeps {
  providers: ReadonlyMap<string, Provider>;
  store: EventStore;
  clock: Clock;
  dedupeHorizonDays: number;
}

/**
 * Processes one queue message. Resolves with what happened; rejects for anything that must be
 * retried (the record then fails alone and SQS redelivers it, up to the DLQ).
 */
export async function consume(messageBody: string, deps: ConsumeDeps): Promise<StoreResult> {
  const message = readMessage(messageBody);
  const provider = deps.providers.get(message.provider);
  if (!provider)
    throw new PoisonMessageError(`unknown provider ${JSON.stringify(message.provider.slice(0, 40))}`);

  const raw = Buffer.from(message.bodyBase64, 'base64');
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) throw new PoisonMessageError(`message body unreadable: ${parsed.detail}`);

  const now = deps.clock();
  const base: EventRecord = {
    provider: provider.name,
    eventKey: message.eventKey,
    eventType: message.eventType,
    accountId: undefined,
    entityIds: {},
    occurredAt: undefined,
    receivedAt: message.receivedAt,
    processedAt: now.toISOString(),
    rawBody: raw.toString('utf8'),
    headers: message.headers,
    issues: undefined,
    expiresAt: expiry(message.receivedAt, deps.dedupeHorizonDays),
    replay: message.replay ?? false,
  };

  // Validated again rather than trusted: a replay after a schema fix must see the new schema.
  const validation =
    message.issues && !message.replay
      ? { ok: false as const, issues: message.issues }
      : provider.validate(parsed.value);
  if (!validation.ok) {
    const envelope = provider.envelope(parsed.value, { headers: {}, pathToken: undefined, rawBody: raw });
    return deps.store.record(
      { ...base, accountId: envelope.ok ? envelope.accountId : undefined, issues: validation.issues },
      'quarantined',
    );
  }

  const facts = provider.describe(validation.event);
  const event: EventRecord = {
    ...base,
    accountId: facts.accountId,
    entityIds: facts.entityIds,
    occurredAt: facts.occurredAt,
  };
  if (!facts.job) return deps.store.record(event, 'recorded');

  return deps.store.apply(event, {
    provider: provider.name,
    jobId: facts.job.jobId,
    accountId: facts.accountId,
    fields: clipFields(facts.job.fields),
    payload: event.rawBody,
    eventKey: message.eventKey,
    eventType: message.eventType,
    eventAt: facts.occurredAt ?? message.receivedAt,
    now: event.processedAt,
  });
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
