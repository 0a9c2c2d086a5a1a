import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
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
 * The outcomes of the records an operator must find and act on (replay a quarantined or
 * unprocessable event, read a conflict): only these records carry `provider`, the partition key of
 * the `byProvider` index, so only they are written to it. An index entry costs a write of its own
 * (2 write units in a transaction, as DynamoDB Local reports them) on every event it holds; the
 * others are listed by a Scan (`cli/store.ts`). Every record's provider is the start of its `pk`.
 */
export const indexedOutcomes: ReadonlySet<string> = new Set(['quarantined', 'unprocessable', 'conflict']);

/**
 * Brotli at quality 5: on the benchmark's bodies about 35 µs (0.8 KB) to 60 µs (5.4 KB) of CPU,
 * 58 % and 23 % of the size; the qualities above 8 cost milliseconds for a few percent more.
 */
const brotliOptions = {
  params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT },
};

/**
 * A body as the event log keeps it: its UTF-8 bytes, Brotli-compressed (`bodyBrotli`, binary). A
 * transactional write costs 2 write units per KB of the item, and JSON shrinks to between a quarter
 * and a half. Deterministic: the same body always gives the same bytes.
 */
export function packBody(body: string): Uint8Array {
  const packed = brotliCompressSync(Buffer.from(body, 'utf8'), brotliOptions);
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
}

/**
 * The body of an event-log record as received (UTF-8 text): `bodyBrotli` decompressed, or the text
 * attribute `rawBody` of a record written before bodies were compressed; `undefined` when the
 * record holds no body (only `bodySha256`).
 */
export function readBody(item: Item): string | undefined {
  if (item.bodyBrotli instanceof Uint8Array) return brotliDecompressSync(item.bodyBrotli).toString('utf8');
  return typeof item.rawBody === 'string' ? item.rawBody : undefined;
}

/**
 * An event-log record as a reader sees it (the CLI shows and replays these): the body decompressed
 * into `rawBody` (UTF-8 text; `bodyBrotli` is how the table keeps it), and `provider`, which only
 * indexed records carry, read from the start of `pk`.
 */
export function readableEvent(item: Item): Item {
  const { bodyBrotli: _packed, ...rest } = item;
  const rawBody = readBody(item);
  const provider =
    typeof item.provider === 'string'
      ? item.provider
      : typeof item.pk === 'string' && item.pk.includes('#')
        ? item.pk.slice(0, item.pk.indexOf('#'))
        : undefined;
  return {
    ...rest,
    ...(provider === undefined ? {} : { provider }),
    ...(rawBody === undefined ? {} : { rawBody }),
  };
}

/**
 * Every attribute an event-log record owns, `undefined` where it has none (a write leaves those
 * out, or removes them). `conflicts` is not among them: it belongs to the kept record, and a
 * rewrite of the record keeps it. `rawBody`, the first version's uncompressed body, is always
 * `undefined`: a rewrite of an old record removes it.
 */
export function eventAttributes(event: EventRecord, outcome: string): Item {
  return {
    pk: eventPk(event.provider, event.eventKey),
    provider: indexedOutcomes.has(outcome) ? event.provider : undefined,
    eventKey: event.eventKey,
    eventType: event.eventType,
    outcome,
    accountId: event.accountId,
    entityIds: event.entityIds,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    processedAt: event.processedAt,
    bodyBrotli: event.rawBody === undefined ? undefined : packBody(event.rawBody),
    rawBody: undefined,
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
 * `now`), its `eventCount` goes up by one and the {@link retiredJobAttributes} are removed. The
 * job keeps no payload: its latest body is the event log record of `lastEventKey`.
 */
export function advanceAttributes(job: JobWrite): Array<[string, unknown]> {
  return [
    ['provider', job.provider],
    ['jobId', job.jobId],
    ['accountId', job.accountId],
    ['accountKey', job.accountId === undefined ? undefined : accountKey(job.provider, job.accountId)],
    ...Object.entries(job.fields),
    ['lastEventKey', job.eventKey],
    ['lastEventType', job.eventType],
    ['lastEventAt', job.eventAt],
    ['lastOrder', job.order],
    ['lastFingerprint', job.fingerprint],
    ['lastStage', job.stage],
    ['updatedAt', job.now],
  ];
}

/**
 * What a fill sets only where the job has no value yet, in order: the fields it carries that the
 * job lacked, and the account it takes (`accountId`, `accountKey`: `accountTaken`,
 * functions/core/rules.ts) when there is one. `fillsSomething` holds while one of them is absent.
 */
export function fillIfAbsent(
  provider: string,
  fill: { fields: JobFields; account?: string | undefined },
): Array<[string, unknown]> {
  return [
    ...Object.entries(fill.fields).filter(([, value]) => value !== undefined),
    ...(fill.account === undefined
      ? []
      : ([
          ['accountId', fill.account],
          ['accountKey', accountKey(provider, fill.account)],
        ] as Array<[string, unknown]>)),
  ];
}

/**
 * What a stale event's fill sets on the job besides {@link fillIfAbsent}, in order: which event
 * filled it last (`lastFill*`, as `lastEvent*` name the event the job's state is from) and when
 * (`updatedAt`: the job changed). Besides these, its `fillCount` goes up by one. A fill is written
 * only when it sets something (`fillsSomething`, functions/core/rules.ts), so the job's revision,
 * `eventCount + fillCount` ({@link jobRevision}), counts exactly the writes that changed it.
 */
export function fillAttributes(job: JobWrite): Array<[string, unknown]> {
  return [
    ['lastFillKey', job.eventKey],
    ['lastFillType', job.eventType],
    ['lastFillAt', job.eventAt],
    ['updatedAt', job.now],
  ];
}

/**
 * A job's revision: the number of writes that changed it, `eventCount` (events applied) plus
 * `fillCount` (stale events that filled empty fields; absent before the first such fill, and on
 * jobs written before fills were counted). 1 for a new job, then one more per change, without
 * gaps; `undefined` when `eventCount` is not a positive integer (not a job the consumer wrote).
 */
export function jobRevision(item: Item): number | undefined {
  const { eventCount, fillCount = 0 } = item;
  if (typeof eventCount !== 'number' || !Number.isSafeInteger(eventCount) || eventCount < 1) return undefined;
  if (typeof fillCount !== 'number' || !Number.isSafeInteger(fillCount) || fillCount < 0) return undefined;
  return eventCount + fillCount;
}

/**
 * Attributes a job of the first version held that an advance removes: `payload`, the latest body,
 * which the event log record of `lastEventKey` already holds (once, compressed).
 */
export const retiredJobAttributes = ['payload'] as const;

/**
 * The canonical job fields, by name (every key of {@link JobFields}, in its order): what a stale
 * event may fill, and what a published job change reports (`functions/core/job-changes.ts`).
 */
export const jobFieldNames: ReadonlyArray<keyof JobFields> = Object.keys({
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
