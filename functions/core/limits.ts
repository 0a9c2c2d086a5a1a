import type { JobFields } from './job.ts';
import type { JsonObject } from './json.ts';
import type { Issue } from './message.ts';
import type { EventFacts } from './provider.ts';

/**
 * What DynamoDB can store, checked before an event is accepted, so that an event answered 202
 * never meets a write the store refuses on every receive. Sources: the DynamoDB developer guide,
 * "Service, account, and table quotas" (partition key values 1–2048 bytes, sort key values
 * 1–1024 bytes, both as UTF-8) and "Supported data types" (numbers: up to 38 significant digits,
 * magnitudes from 1E-130 to below 1E+126).
 */

/** Longest id, in UTF-8 bytes, that may become part of a key (`<provider>#<id>` stays under 2048 bytes). */
export const maxIdBytes = 1024;

/** Smallest non-zero magnitude DynamoDB stores. */
const minNumberMagnitude = 1e-130;

/** UTF-8 bytes of a string, as DynamoDB counts a key's length. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/**
 * Why a string cannot be an id, or `undefined` when it can: it must be non-empty, well-formed
 * Unicode (a lone surrogate would be written as U+FFFD, so two different ids would become one key)
 * and at most {@link maxIdBytes} UTF-8 bytes.
 */
export function idProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (it holds a lone surrogate)';
  if (utf8Bytes(value) > maxIdBytes) return `must be at most ${maxIdBytes} UTF-8 bytes`;
  return undefined;
}

/**
 * `true` when the store keeps this number exactly as a JavaScript number: an integer within
 * ±(2^53 − 1) (the DynamoDB document client refuses larger ones), or a fraction whose magnitude
 * DynamoDB accepts (at least 1E-130; a fraction is always below 2^52, far under 1E+126).
 */
export function storableNumber(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (Number.isInteger(value)) return Number.isSafeInteger(value);
  return Math.abs(value) >= minNumberMagnitude;
}

/** The phrase a quarantine issue uses for a number that {@link storableNumber} refuses. */
export const storableNumberExpectation =
  'a number stored exactly: an integer within ±9007199254740991 or a fraction of magnitude at least 1e-130';

/** The phrase a quarantine issue uses for an id that {@link idProblem} refuses. */
const idExpectation = `an id that is non-empty, well-formed Unicode and at most ${maxIdBytes} UTF-8 bytes`;

/** The ids an event's facts name, with the field each came from (for a 400 detail or an issue path). */
export function namedIds(facts: EventFacts): Array<[field: string, id: string]> {
  const ids: Array<[string, string]> = [];
  if (facts.job) ids.push(['job id', facts.job.jobId]);
  if (facts.accountId !== undefined) ids.push(['account id', facts.accountId]);
  // An entity id equal to one already listed (the job's own `job_id`) would only repeat it.
  for (const [field, id] of Object.entries(facts.entityIds))
    if (!ids.some(([, seen]) => seen === id)) ids.push([field, id]);
  return ids;
}

/**
 * The first id in the facts that is not well-formed Unicode, as `"<field> must be …"`: ingest
 * answers it with a 400, because no record could keep two such ids apart. `illFormedIdPath` finds
 * those in fields named like ids first; this one covers ids a mapping takes from elsewhere.
 */
export function illFormedIdDetail(facts: EventFacts): string | undefined {
  for (const [field, id] of namedIds(facts)) {
    if (!id.isWellFormed()) return `${field} must be well-formed Unicode (it holds a lone surrogate)`;
  }
  return undefined;
}

/**
 * The path (`data.customer.id`) of the first field named `id` or ending in `_id`, anywhere in the
 * body, whose value is a string that is not well-formed Unicode; `undefined` when there is none.
 * Ingest answers it with a 400 before validation, so the answer does not depend on whether the
 * schema would have quarantined the event for another reason. Iterative: the body's depth is
 * bounded by `parseJsonObject`, but a wide one must not cost stack.
 */
export function illFormedIdPath(body: JsonObject): string | undefined {
  const stack: Array<[unknown, string]> = [[body, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop() as [unknown, string];
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, value] of Object.entries(node)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (typeof value === 'string') {
        if ((key === 'id' || key.endsWith('_id')) && !value.isWellFormed()) return at.toWellFormed();
      } else if (typeof value === 'object' && value !== null) stack.push([value, at]);
    }
  }
  return undefined;
}

export interface AdmissionContext {
  /** ISO 8601: the time the event's own time is compared with (its receipt; for a replay, now). */
  reference: string;
  /** How far after `reference` the event's own time may lie. */
  eventTimeSkewSeconds: number;
}

/**
 * Why a valid event must be quarantined rather than applied: an id that cannot be part of a key, a
 * canonical number the store would not keep exactly, or an event time further in the future than
 * the allowed skew (one bad clock must not freeze a job: later real events would all be stale).
 * Empty when the event can be applied. Ingest and the consumer both run it, so a replay meets the
 * rules in force when it runs.
 */
export function admissionIssues(facts: EventFacts, context: AdmissionContext): Issue[] {
  const issues: Issue[] = [];
  for (const [field, id] of namedIds(facts)) {
    const problem = idProblem(id);
    if (problem) issues.push({ path: field, message: `expected ${idExpectation}` });
  }
  for (const [field, value] of Object.entries(facts.job?.fields ?? {}) as Array<[keyof JobFields, unknown]>) {
    if (typeof value === 'number' && !storableNumber(value)) {
      issues.push({ path: field, message: `expected ${storableNumberExpectation}` });
    }
  }
  if (facts.occurredAt !== undefined) {
    const latest = Date.parse(context.reference) + context.eventTimeSkewSeconds * 1000;
    if (Date.parse(facts.occurredAt) > latest) {
      issues.push({
        path: 'event time',
        message: `expected an event time at most ${context.eventTimeSkewSeconds} s after the event was received`,
      });
    }
  }
  return issues;
}
