import type { EventRecord, JobWrite, Outcome } from './consume.ts';
import type { JobFields } from './job.ts';

/**
 * The rules of the event log and the jobs table, in one place and without I/O: given what the
 * store holds for an event (its own record, its conflict record, the job it names), they decide
 * the outcome and the writes. Both stores run them:
 *
 * - `MemoryEventStore` (functions/core/memory-store.ts), the reference: it reads the records,
 *   decides, and applies the writes to its maps in one step.
 * - `DynamoEventStore` (functions/adapters/dynamo-store.ts) cannot read before it writes without a
 *   second round trip, so it decides first on what a new event meets (nothing) and writes with
 *   each write's guards as DynamoDB conditions, all or nothing. A failed condition returns the
 *   item it failed on; the store decides again on what it now knows, until the writes go through.
 *
 * So a decision's writes carry guards: the predicates (below) the decision relied on, about the
 * item each write goes to. A guard that holds where the write lands means the decision still holds.
 * Two facts let some assumptions go unguarded: a job only moves forward (an event that is behind
 * it stays behind, a field once set stays set) and a job's account never changes once set.
 *
 * The model-based test (test/integration/store-model.test.ts) runs the same random deliveries
 * through both stores and requires the same outcomes and the same records.
 */

// ---------------------------------------------------------------------------------------------
// What the rules read
// ---------------------------------------------------------------------------------------------

/** What the rules read of an event-log record: the one under the event's own key. */
export interface StoredEvent {
  outcome: string;
  fingerprint: string | undefined;
}

/** What the rules read of a job. */
export interface StoredJob {
  lastEventKey: string | undefined;
  lastOrder: string | undefined;
  /** Ordered jobs written before `lastOrder` existed (the first version) by this alone. */
  lastEventAt: string | undefined;
  lastFingerprint: string | undefined;
  accountId: string | undefined;
  /** The canonical fields the job has. */
  fields: JobFields;
}

/** The records one event's decision reads; a store that has not read one assumes it absent. */
export interface View {
  /** The record under the event's own key. */
  event: StoredEvent | undefined;
  /** Whether this very body is already kept as a conflict record under the event's key. */
  conflictRecorded: boolean;
  /** The job the event names (`apply` only). */
  job: StoredJob | undefined;
}

export const nothingStored: View = { event: undefined, conflictRecorded: false, job: undefined };

// ---------------------------------------------------------------------------------------------
// The predicates, each with the reason it exists
// ---------------------------------------------------------------------------------------------

/**
 * Dedupe: a record under the event's key means the key was seen, whatever that record says. The
 * record is the dedupe marker; it is kept for the dedupe horizon (`expiresAt`).
 */
export function seenBefore(stored: StoredEvent | undefined): stored is StoredEvent {
  return stored !== undefined;
}

/**
 * A second delivery under a known key is the same delivery when its body's fingerprint is the
 * stored one. An unknown fingerprint (a record from before fingerprints, a message whose body could
 * not be read) cannot tell, and counts as the same: a redelivery is far likelier than a conflict.
 */
export function sameBody(stored: string | undefined, incoming: string | undefined): boolean {
  return stored === undefined || incoming === undefined || stored === incoming;
}

/**
 * An `unprocessable` record is rewritten by a redelivery of its own body (a failure that will
 * repeat records its latest reason), never by another body: that one is a conflict like any other.
 * Its record stays the dedupe marker, so a rewrite needs the same fingerprint (or none stored).
 */
export function rewritesUnprocessable(stored: StoredEvent, event: EventRecord): boolean {
  return (
    stored.outcome === 'unprocessable' &&
    (stored.fingerprint === undefined || stored.fingerprint === event.fingerprint)
  );
}

/**
 * A replay never turns the record of an applied event into a stale one: it was applied once, and
 * its record keeps saying so after a newer event has overtaken it.
 */
export function notAppliedBefore(stored: StoredEvent | undefined): boolean {
  return stored?.outcome !== 'applied';
}

/**
 * The job already holds this event as its latest: its log record has passed the dedupe horizon,
 * or the event is replayed. The same body is then already applied (never twice, even when a later
 * receive changed its order); another body under the key is a conflict.
 */
export function holdsEvent(stored: StoredJob | undefined, job: JobWrite): boolean {
  return stored !== undefined && stored.lastEventKey === job.eventKey;
}

/**
 * A job never moves from one account (a provider's business) to another: an event naming another
 * account than the job's is refused. A job without an account yet takes the first one an event
 * names; an event without an account names none to refuse.
 */
export function sameAccount(stored: StoredJob | undefined, job: JobWrite): boolean {
  return stored?.accountId === undefined || job.accountId === undefined || stored.accountId === job.accountId;
}

/**
 * Ordering: a job only moves forward, by (order, event key). The order is `JobWrite.order`: the
 * event time, or a Zenbooker event's lifecycle position. The key breaks ties the same way on every
 * consumer, whatever the arrival order. The event that already is the job's state never applies
 * again. A job written by the first version, before `lastOrder` existed, is compared by event time
 * alone, as it was then. Text compares as DynamoDB compares it: by UTF-8 bytes.
 */
export function movesForward(stored: StoredJob | undefined, job: JobWrite): boolean {
  if (stored === undefined) return true;
  if (stored.lastEventKey === job.eventKey) return false;
  const keyAfter = stored.lastEventKey !== undefined && compareText(stored.lastEventKey, job.eventKey) < 0;
  const after = (stored: string | undefined, incoming: string) =>
    stored !== undefined && (compareText(stored, incoming) < 0 || (stored === incoming && keyAfter));
  return stored.lastOrder !== undefined
    ? after(stored.lastOrder, job.order)
    : after(stored.lastEventAt, job.eventAt);
}

/**
 * A stale event only fills gaps: the fields it carries that the job does not have yet. A sparse
 * newer event never erased them, and an older one never overwrites what a newer one set.
 */
export function fillsOnly(stored: StoredJob, fields: JobFields): JobFields {
  return Object.fromEntries(
    Object.entries(fields).filter(
      ([name, value]) => value !== undefined && stored.fields[name as keyof JobFields] === undefined,
    ),
  ) as JobFields;
}

/**
 * A job without an account takes the first one an event names, a stale event's too: the account
 * the fill sets (`sameAccount` keeps every later event to it), or `undefined` when the job has one
 * or the event names none.
 */
export function accountTaken(
  stored: StoredJob | undefined,
  job: Pick<JobWrite, 'accountId'>,
): string | undefined {
  return stored !== undefined && stored.accountId === undefined ? job.accountId : undefined;
}

/**
 * A fill changes the job: at least one of the fields it carries is still empty on the job, or it
 * takes an account (`account`) the job does not have yet. A fill is published as a job change
 * (functions/core/job-changes.ts), so one that would change nothing (a newer event set all of it
 * since the decision) must not be written, or counted, at all.
 */
export function fillsSomething(
  stored: StoredJob | undefined,
  fields: JobFields,
  account?: string | undefined,
): boolean {
  return (
    stored !== undefined &&
    (Object.keys(fillsOnly(stored, fields)).length > 0 ||
      (account !== undefined && stored.accountId === undefined))
  );
}

/** Text order as DynamoDB compares strings: by their UTF-8 bytes (not UTF-16 code units). */
export function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Decisions: an outcome and the writes, each write guarded by what the decision relied on
// ---------------------------------------------------------------------------------------------

/** Guards on the record under the event's own key. */
export type EventGuard = 'notSeenBefore' | 'notSeenOrUnprocessable' | 'notAppliedBefore' | 'recorded';
/** Guards on the job the event names. */
export type JobGuard = 'movesForward' | 'sameAccount' | 'jobExists' | 'fillsSomething';

export type Write =
  /** The event's own record, written whole with this outcome; the `conflicts` it lists stay. */
  | { to: 'event'; op: 'put'; outcome: Outcome; reason?: string; guards: EventGuard[] }
  /** Adds the event's fingerprint to the `conflicts` of the record kept under its key. */
  | { to: 'event'; op: 'listConflict'; guards: ['recorded'] }
  /** Writes nothing: only checks that no record is kept under the event's key. */
  | { to: 'event'; op: 'check'; guards: ['notSeenBefore'] }
  /** The event's body kept as a conflict record of its own (`conflictPk`). */
  | { to: 'conflict'; op: 'put'; conflictsWith: string; guards: ['notSeenBefore'] }
  /** Moves the job to this event: its fields, payload and bookkeeping (`advanceAttributes`). */
  | { to: 'job'; op: 'advance'; guards: JobGuard[] }
  /**
   * Sets these fields where the job has none, and `account` (`accountTaken`) when it has none, and
   * counts the fill (`fillAttributes`): only while one of them is still empty (`fillsSomething`),
   * so every counted fill changed the job.
   */
  | { to: 'job'; op: 'fill'; fields: JobFields; account?: string; guards: JobGuard[] };

export interface Decision<Result> {
  result: Result;
  /** All or none. */
  writes: Write[];
}

export type RecordOutcome = 'recorded' | 'quarantined' | 'unprocessable';
export type RecordResult = RecordOutcome | 'duplicate' | 'conflict';
export type ApplyResult = 'applied' | 'stale' | 'duplicate' | 'conflict' | 'unprocessable';

/** The reason recorded on an event refused because its job belongs to another account. */
export const otherAccountReason =
  'the job belongs to another account, and a job never moves from one account to another';

/** An event that changes no job (recorded, quarantined, unprocessable): its record alone. */
export function decideRecord(view: View, event: EventRecord, outcome: RecordOutcome): Decision<RecordResult> {
  const put = (guards: EventGuard[]): Decision<RecordResult> => ({
    result: outcome,
    writes: [{ to: 'event', op: 'put', outcome, guards }],
  });
  // A replay rewrites its own record, whatever it said.
  if (event.replay) return put([]);
  if (outcome === 'unprocessable' && (!seenBefore(view.event) || rewritesUnprocessable(view.event, event)))
    return put(['notSeenOrUnprocessable']);
  if (!seenBefore(view.event)) return put(['notSeenBefore']);
  return decideSeen(view, event, view.event.fingerprint);
}

/** An event that names a job: its record and the job change together, in the job's order. */
export function decideApply(view: View, event: EventRecord, job: JobWrite): Decision<ApplyResult> {
  // A replay skips the dedupe marker: it rewrites its own record, and the job's rules still hold.
  if (!event.replay && seenBefore(view.event)) return decideSeen(view, event, view.event.fingerprint);
  const own = (outcome: Outcome, guards: EventGuard[], reason?: string): Write => ({
    to: 'event',
    op: 'put',
    outcome,
    ...(reason === undefined ? {} : { reason }),
    guards: event.replay ? guards.filter((guard) => guard !== 'notSeenBefore') : guards,
  });
  const stored = view.job;
  if (holdsEvent(stored, job)) {
    if (!sameBody(stored?.lastFingerprint, event.fingerprint))
      return decideSeen(view, event, stored?.lastFingerprint as string);
    // Only its record is (re)written; the job is not touched, so it needs no guard.
    return { result: 'applied', writes: [own('applied', ['notSeenBefore'])] };
  }
  // Unguarded on the job: an account once set never changes.
  if (!sameAccount(stored, job))
    return { result: 'unprocessable', writes: [own('unprocessable', ['notSeenBefore'], otherAccountReason)] };
  if (movesForward(stored, job)) {
    return {
      result: 'applied',
      writes: [
        own('applied', ['notSeenBefore']),
        { to: 'job', op: 'advance', guards: ['movesForward', 'sameAccount'] },
      ],
    };
  }
  // Behind the job, and it stays behind (a job only moves forward).
  if (event.replay && !notAppliedBefore(view.event)) return { result: 'stale', writes: [] };
  const fill = fillsOnly(stored as StoredJob, job.fields);
  const account = accountTaken(stored, job);
  return {
    result: 'stale',
    writes: [
      own('stale', event.replay ? ['notAppliedBefore'] : ['notSeenBefore']),
      // Nothing to fill, nothing written to the job: fields once set stay set.
      ...(fillsSomething(stored, fill, account)
        ? [
            {
              to: 'job',
              op: 'fill',
              fields: fill,
              ...(account === undefined ? {} : { account }),
              guards: ['jobExists', 'sameAccount', 'fillsSomething'],
            } satisfies Write,
          ]
        : []),
    ],
  };
}

/**
 * The key was seen with the fingerprint `stored` (its record's, or the job's when the job holds the
 * key): the same body is a duplicate and writes nothing; another body is kept once as a conflict
 * record, listed on the kept record when there is one.
 */
function decideSeen(
  view: View,
  event: EventRecord,
  stored: string | undefined,
): Decision<'duplicate' | 'conflict'> {
  if (sameBody(stored, event.fingerprint) || view.conflictRecorded)
    return { result: 'duplicate', writes: [] };
  return {
    result: 'conflict',
    writes: [
      { to: 'conflict', op: 'put', conflictsWith: stored as string, guards: ['notSeenBefore'] },
      view.event
        ? { to: 'event', op: 'listConflict', guards: ['recorded'] }
        : { to: 'event', op: 'check', guards: ['notSeenBefore'] },
    ],
  };
}

/** Whether a write's guards hold on the records it was decided on (the reference store checks). */
export function guardsHold(write: Write, view: View, event: EventRecord, job: JobWrite | undefined): boolean {
  return write.guards.every((guard) => {
    if (write.to === 'conflict') return !view.conflictRecorded;
    switch (guard) {
      case 'notSeenBefore':
        return !seenBefore(view.event);
      case 'notSeenOrUnprocessable':
        return !seenBefore(view.event) || rewritesUnprocessable(view.event, event);
      case 'notAppliedBefore':
        return notAppliedBefore(view.event);
      case 'recorded':
        return seenBefore(view.event);
      case 'movesForward':
        return job !== undefined && movesForward(view.job, job);
      case 'sameAccount':
        return job !== undefined && sameAccount(view.job, job);
      case 'jobExists':
        return view.job !== undefined;
      case 'fillsSomething':
        return (
          write.to === 'job' && write.op === 'fill' && fillsSomething(view.job, write.fields, write.account)
        );
    }
    return false;
  });
}
