import type { EventRecord, EventStore, JobWrite } from './consume.ts';
import {
  advanceAttributes,
  conflictAttributes,
  conflictPk,
  defined,
  eventAttributes,
  eventPk,
  fillAttributes,
  fillIfAbsent,
  type Item,
  jobPk,
  retiredJobAttributes,
  storedEvent,
  storedJob,
} from './records.ts';
import {
  type Decision,
  decideApply,
  decideRecord,
  guardsHold,
  type RecordOutcome,
  type View,
  type Write,
} from './rules.ts';

/**
 * The reference `EventStore`: the event log and the jobs in two maps, each call one atomic step
 * (read the records, decide with the rules, apply the writes). It keeps the records exactly as
 * `DynamoEventStore` stores them (docs/storage.md), so the model-based test can compare the two
 * item for item. It checks every guard of a decision before writing, as DynamoDB does, so a rule
 * that contradicts its own guards fails here first.
 *
 * Not modelled: what DynamoDB refuses for size (an item over 400 KB, a key over 2048 bytes) and the
 * time-to-live sweep (`expire` removes a record, as the sweep would).
 */
export class MemoryEventStore implements EventStore {
  private readonly events = new Map<string, Item>();
  private readonly jobs = new Map<string, Item>();

  async record(event: EventRecord, outcome: RecordOutcome) {
    const view = this.view(event, undefined);
    return this.settle(view, decideRecord(view, event, outcome), event, undefined);
  }

  async apply(event: EventRecord, job: JobWrite) {
    const view = this.view(event, job);
    return this.settle(view, decideApply(view, event, job), event, job);
  }

  /** Removes an event-log record, as DynamoDB's time-to-live does once it is past `expiresAt`. */
  expire(pk: string): void {
    this.events.delete(pk);
  }

  /** Every record, copied: `{events, jobs}` by `pk`. */
  snapshot(): { events: Map<string, Item>; jobs: Map<string, Item> } {
    return { events: copyAll(this.events), jobs: copyAll(this.jobs) };
  }

  /** An independent store holding the same records. */
  clone(): MemoryEventStore {
    const copy = new MemoryEventStore();
    const { events, jobs } = this.snapshot();
    for (const [pk, item] of events) copy.events.set(pk, item);
    for (const [pk, item] of jobs) copy.jobs.set(pk, item);
    return copy;
  }

  private view(event: EventRecord, job: JobWrite | undefined): View {
    const record = this.events.get(eventPk(event.provider, event.eventKey));
    const stored = job && this.jobs.get(jobPk(job.provider, job.jobId));
    return {
      event: record && storedEvent(record),
      conflictRecorded:
        event.fingerprint !== undefined &&
        this.events.has(conflictPk(event.provider, event.eventKey, event.fingerprint)),
      job: stored && storedJob(stored),
    };
  }

  /** Checks every guard, then writes: all or nothing, in one step. */
  private settle<Result>(
    view: View,
    decision: Decision<Result>,
    event: EventRecord,
    job: JobWrite | undefined,
  ): Result {
    for (const write of decision.writes) {
      if (!guardsHold(write, view, event, job))
        throw new Error(`a decision broke its own guard: ${JSON.stringify(write)}`);
    }
    for (const write of decision.writes) this.write(write, event, job);
    return decision.result;
  }

  private write(write: Write, event: EventRecord, job: JobWrite | undefined): void {
    const pk = eventPk(event.provider, event.eventKey);
    if (write.to === 'conflict') {
      const fingerprint = event.fingerprint as string;
      const item = defined(conflictAttributes(event, fingerprint, write.conflictsWith));
      this.events.set(item.pk as string, item);
      return;
    }
    if (write.to === 'event') {
      const kept = this.events.get(pk);
      if (write.op === 'put') {
        const reason = write.reason ?? event.reason;
        const item = defined(eventAttributes({ ...event, reason }, write.outcome));
        if (kept?.conflicts !== undefined) item.conflicts = kept.conflicts;
        this.events.set(pk, item);
      } else if (write.op === 'listConflict' && kept) {
        kept.conflicts = new Set([...((kept.conflicts as Set<string> | undefined) ?? []), event.fingerprint]);
      }
      return;
    }
    if (!job) throw new Error('a job write without a job');
    const key = jobPk(job.provider, job.jobId);
    const stored = this.jobs.get(key);
    if (write.op === 'advance') {
      const item: Item = { ...stored, pk: key };
      for (const [attribute, value] of advanceAttributes(job))
        if (value !== undefined) item[attribute] = value;
      for (const attribute of retiredJobAttributes) delete item[attribute];
      item.createdAt ??= job.now;
      item.eventCount = ((stored?.eventCount as number | undefined) ?? 0) + 1;
      this.jobs.set(key, item);
    } else if (stored) {
      for (const [attribute, value] of fillIfAbsent(job.provider, write)) stored[attribute] ??= value;
      for (const [attribute, value] of fillAttributes(job)) stored[attribute] = value;
      stored.fillCount = ((stored.fillCount as number | undefined) ?? 0) + 1;
    }
  }
}

function copyAll(items: Map<string, Item>): Map<string, Item> {
  return new Map([...items].map(([pk, item]) => [pk, structuredClone(item)]));
}
