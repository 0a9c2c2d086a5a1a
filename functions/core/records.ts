import type { EventRecord, JobWrite } from './consume.ts';
import type { JobFields } from './job.ts';
import type { StoredEvent, StoredJob } from './rules.ts';

/**
 * The records both stores keep, attribute by attribute (docs/storage.md): their keys, what an
 * event-log record and a job hold, and the part of each the rules read. `DynamoEventStore` writes
 * these attributes through its expressions; `MemoryEventStore` keeps them as DynamoDB's document
 * client returns them, so the two can be compared item for item.
 */

export const eventPk = (provider: string, eventKey: string) => `${provider}#${eventKey}`;
/** A second body under a known key: kept beside the first, once per distinct fingerprint. */
export const conflictPk = (provider: string, eventKey: string, fingerprint: string) =>
  `${eventPk(provider, eventKey)}#conflict#${fingerprint}`;
export const jobPk = (provider: string, jobId: string) => `${provider}#${jobId}`;
export const accountKey = (provider: string, accountId: string) => `${provider}#${accountId}`;

/** A stored item, as the document client reads it (numbers as numbers, string sets as `Set`s). */
export type Item = Record<string, unknown>;

/**
 * Every attribute an event-log record owns, `undefined` where it has none (a write leaves those
 * out, or removes them). `conflicts` is not among them: it belongs to the kept record, and a
 * rewrite of the record keeps it.
 */
export function eventAttributes(event: EventRecord, outcome: string): Item {
  return {
    pk: eventPk(event.provider, event.eventKey),
    provider: event.provider,
    eventKey: event.eventKey,
    eventType: event.eventType,
    outcome,
    accountId: event.accountId,
    entityIds: event.entityIds,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    processedAt: event.processedAt,
    rawBody: event.rawBody,
    bodySha256: event.bodySha256,
    fingerprint: event.fingerprint,
    headers: event.headers,
    issues: event.issues,
    reason: event.reason,
    expiresAt: event.expiresAt,
    replayedAt: event.replay ? event.processedAt : undefined,
  };
}

/** The conflict record of a body received under a known key whose record has `conflictsWith`. */
export function conflictAttributes(event: EventRecord, fingerprint: string, conflictsWith: string): Item {
  return {
    ...eventAttributes(event, 'conflict'),
    pk: conflictPk(event.provider, event.eventKey, fingerprint),
    conflictsWith,
  };
}

/**
 * What an event that moves a job forward sets on it, in order; `undefined` values leave the stored
 * value alone (a sparse event never erases). Besides these, the job's `createdAt` is set once (to
 * `now`) and its `eventCount` goes up by one.
 */
export function advanceAttributes(job: JobWrite): Array<[string, unknown]> {
  return [
    ['provider', job.provider],
    ['jobId', job.jobId],
    ['accountId', job.accountId],
    ['accountKey', job.accountId === undefined ? undefined : accountKey(job.provider, job.accountId)],
    ...Object.entries(job.fields),
    ['payload', job.payload],
    ['lastEventKey', job.eventKey],
    ['lastEventType', job.eventType],
    ['lastEventAt', job.eventAt],
    ['lastOrder', job.order],
    ['lastFingerprint', job.fingerprint],
    ['lastStage', job.stage],
    ['updatedAt', job.now],
  ];
}

/** The canonical job fields, by name: what a stale event may fill. */
const jobFieldNames = Object.keys({
  status: true,
  canceled: true,
  jobNumber: true,
  customerId: true,
  customerName: true,
  customerEmail: true,
  customerPhone: true,
  description: true,
  workDetails: true,
  scheduledStart: true,
  scheduledEnd: true,
  startedAt: true,
  completedAt: true,
  timezone: true,
  address: true,
  serviceName: true,
  total: true,
  amountPaid: true,
  amountDue: true,
} satisfies { [K in keyof Required<JobFields>]: true }) as Array<keyof JobFields>;

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** What the rules read of a stored event-log record. */
export function storedEvent(item: Item): StoredEvent {
  return { outcome: text(item.outcome) ?? '', fingerprint: text(item.fingerprint) };
}

/** What the rules read of a stored job. */
export function storedJob(item: Item): StoredJob {
  const fields: Record<string, unknown> = {};
  for (const name of jobFieldNames) if (item[name] !== undefined) fields[name] = item[name];
  return {
    lastEventKey: text(item.lastEventKey),
    lastOrder: text(item.lastOrder),
    lastEventAt: text(item.lastEventAt),
    lastFingerprint: text(item.lastFingerprint),
    accountId: text(item.accountId),
    fields: fields as JobFields,
  };
}

/** The item without its `undefined` attributes, as a write stores it. */
export function defined(item: Item): Item {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined));
}
