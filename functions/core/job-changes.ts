import { isDeepStrictEqual } from 'node:util';
import { LoggableError } from './errors.ts';
import type { JobFields } from './job.ts';
import { type Item, jobFieldNames, jobRevision } from './records.ts';

/**
 * What is published when a job changes: one event per write that changed a job, computed from the
 * job item before and after the write, as the jobs table's DynamoDB stream carries them
 * (`NEW_AND_OLD_IMAGES`, infra/definitions.ts). A job changes when the consumer applies an event to
 * it (a new job, or a newer event moving it forward) and when a stale event fills fields it did not
 * have yet (a Cooledge `job.completed` arriving after the job's `invoice.paid` still sets its
 * status): both are counted by the job's revision (`jobRevision`, functions/core/records.ts).
 * Pure: the stream records are read into items by `functions/adapters/job-stream-records.ts`, and
 * the publisher (the publish function deployed, fed by an event source mapping on the stream; the
 * local runner's reader) sends what this module returns.
 *
 * Not to be confused with `JobChange` in `job.ts` (what one provider event says about a job): this
 * one is what the stored job did.
 */

/** The `source` of every job event on the bus: this product. */
export const jobEventSource = 'field-webhooks';

/**
 * The `detail-type` of a job event: the job's first applied event (`Job Created`), a later change
 * of its status (`Job Status Changed`), or any other later change (`Job Updated`).
 */
export type JobChangeType = 'Job Created' | 'Job Status Changed' | 'Job Updated';

/** The `detail` of a job event (version 1): the job after one change, and what changed. */
export interface JobChangeDetail {
  /** The schema of this detail; a change that breaks a subscriber gets a new version. */
  version: 1;
  /**
   * `${provider}#${jobId}#${sequence}`: the same change always has the same id, so a subscriber
   * dedupes on it (delivery is at least once).
   */
  changeId: string;
  /**
   * The job's revision after the change (`eventCount + fillCount`): 1, 2, 3… per job, without gaps,
   * in the order the changes happened.
   */
  sequence: number;
  /** The provider's route name (`cooledge`, `zenbooker`, `standard`, …). */
  provider: string;
  /** The job's account (the provider's business), or `null` while no event has named one. */
  accountId: string | null;
  /** The job's id as the jobs table keys it (docs/storage.md, `jobId`). */
  jobId: string;
  /** The job's canonical status after the change, or `null` when it has none. */
  status: string | null;
  /** The status before the change (`null` when it had none); `null` for a created job. */
  previousStatus: string | null;
  /**
   * The canonical field names whose value differs from before, sorted, and `accountId` when the
   * change gave the job its account (it had none); every canonical field the job has for a created
   * job. Never empty for a stale event's fill (it sets something); may be empty for an applied
   * event: a newer event that carried the same values still moves the job.
   */
  changedFields: string[];
  /** The canonical fields after the change (functions/core/job.ts `JobFields`), only those present. */
  job: Partial<JobFields>;
  /**
   * The event that made the change, and its outcome in the event log: `applied` (the job moved to
   * it: the job's `lastEventKey`, `lastEventType`, `lastEventAt`) or `stale` (older than the job's
   * state, it filled empty fields: the job's `lastFillKey`, `lastFillType`, `lastFillAt`).
   */
  cause: JobChangeCause;
  /** When the consumer wrote the change (the job's `updatedAt`, ISO 8601 UTC). */
  changedAt: string;
  /** When the consumer applied the job's first event (the job's `createdAt`, ISO 8601 UTC). */
  createdAt: string;
}

/** The event behind a job change (`JobChangeDetail.cause`). */
export interface JobChangeCause {
  /** The provider's event key (the event log's `eventKey`). */
  eventKey: string;
  /** The provider's event type (`job.completed`, …). */
  eventType: string;
  /** The event's time: the provider's, else its receive time (ISO 8601 UTC). */
  eventAt: string;
  /** What the event log records for that event. */
  outcome: 'applied' | 'stale';
}

/**
 * A job event as the publisher sends it: `detailType` becomes the EventBridge `DetailType`, `time`
 * its `Time` and `detail` the event's `detail` (functions/publish/publish.ts).
 */
export interface JobChange {
  detailType: JobChangeType;
  /** `detail.changedAt`. */
  time: string;
  detail: JobChangeDetail;
}

/**
 * The job event for one write to a job item, given the item before and after it (as the document
 * client reads items: numbers as numbers), or `undefined` when the write publishes nothing:
 * - `after` absent: the item was removed (the consumer never removes jobs);
 * - the job's revision did not go up (a write of an older version that filled without counting;
 *   a duplicate or replay never writes the job at all).
 *
 * `Job Created` when there is no `before`, or it has no `eventCount`; else `Job Status Changed`
 * when the status differs; else `Job Updated`. A write that raised `fillCount` is a stale event's
 * fill (`cause.outcome` `stale`); any other, an applied event.
 *
 * Throws a {@link LoggableError} when `after` lacks what every job the consumer wrote holds
 * (`provider`, `jobId`, a revision, `lastEvent*` or for a fill `lastFill*`, `createdAt`,
 * `updatedAt`): such a write is not one this code understands, and must not be dropped unseen.
 * The message names the attribute only.
 */
export function jobChange(before: Item | undefined, after: Item | undefined): JobChange | undefined {
  if (after === undefined) return undefined;
  const sequence = jobRevision(after);
  if (sequence === undefined) throw unreadable('eventCount', 'a positive integer (and `fillCount` a count)');
  const created = before === undefined || typeof before.eventCount !== 'number';
  const previous = created ? undefined : jobRevision(before);
  if (!created && previous !== undefined && sequence <= previous) return undefined;
  // The revision went up and no event was applied: the write was a fill.
  const filled = !created && after.eventCount === before.eventCount;

  const provider = text(after, 'provider');
  const jobId = text(after, 'jobId');
  const job = canonicalFields(after);
  const status = textOrNull(after.status);
  const previousStatus = created ? null : textOrNull(before.status);
  const tookAccount =
    !created && textOrNull(before.accountId) === null && textOrNull(after.accountId) !== null;
  const changedFields = created
    ? Object.keys(job).sort()
    : [
        ...jobFieldNames.filter((name) => !sameValue(before[name], after[name])),
        ...(tookAccount ? ['accountId'] : []),
      ].sort();
  const changedAt = text(after, 'updatedAt');
  const cause: JobChangeCause = filled
    ? {
        eventKey: text(after, 'lastFillKey'),
        eventType: text(after, 'lastFillType'),
        eventAt: text(after, 'lastFillAt'),
        outcome: 'stale',
      }
    : {
        eventKey: text(after, 'lastEventKey'),
        eventType: text(after, 'lastEventType'),
        eventAt: text(after, 'lastEventAt'),
        outcome: 'applied',
      };
  return {
    detailType: created ? 'Job Created' : status !== previousStatus ? 'Job Status Changed' : 'Job Updated',
    time: changedAt,
    detail: {
      version: 1,
      changeId: `${provider}#${jobId}#${sequence}`,
      sequence,
      provider,
      accountId: textOrNull(after.accountId),
      jobId,
      status,
      previousStatus,
      changedFields,
      job,
      cause,
      changedAt,
      createdAt: text(after, 'createdAt'),
    },
  };
}

/** The canonical fields an item holds, in `jobFieldNames` order; `null` counts as absent. */
function canonicalFields(item: Item): Partial<JobFields> {
  const fields: Record<string, unknown> = {};
  for (const name of jobFieldNames) if (present(item[name])) fields[name] = item[name];
  return fields as Partial<JobFields>;
}

const present = (value: unknown) => value !== undefined && value !== null;

/** Equal values, absent ones alike: a field set (or, never by the consumer, cleared) has changed. */
function sameValue(a: unknown, b: unknown): boolean {
  if (!present(a) || !present(b)) return present(a) === present(b);
  return isDeepStrictEqual(a, b);
}

function text(item: Item, name: string): string {
  const value = item[name];
  if (typeof value !== 'string') throw unreadable(name, 'text');
  return value;
}

const textOrNull = (value: unknown) => (typeof value === 'string' ? value : null);

function unreadable(name: string, expected: string): LoggableError {
  return new LoggableError(`a job item whose \`${name}\` is not ${expected} cannot be published`);
}
