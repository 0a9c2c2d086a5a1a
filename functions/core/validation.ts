import * as v from 'valibot';
import { JsonNumber } from './json.ts';
import { maxIdBytes, storableNumber, storableNumberExpectation } from './limits.ts';
import type { Issue } from './message.ts';

const maxIssues = 20;

/**
 * valibot issues as `{path, message}` that never quote the received value: a provider sees where
 * and what was expected, and nothing of the payload (which may hold personal data) is echoed.
 */
export function toIssues(issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  return issues.slice(0, maxIssues).map((issue) => ({
    // Keys come from the payload: a hostile one must not make the stored issue list unbounded.
    // Well-formed too: a lone surrogate in a key would reach DynamoDB as U+FFFD at best.
    path: (v.getDotPath(issue) ?? '(root)').slice(0, 200).toWellFormed(),
    message: describe(issue),
  }));
}

/**
 * Validations carry the phrase this codebase gave them (`'a date-time'`), which never quotes input;
 * valibot's own messages do (`… but received "x"`), so for types only the expectation is kept.
 */
function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.input instanceof JsonNumber) return `expected ${storableNumberExpectation}`;
  if (issue.kind === 'validation' && !/received/i.test(issue.message)) return `expected ${issue.message}`;
  return issue.expected ? `expected ${issue.expected}` : `failed ${issue.type} check`;
}

/** A string that `Date.parse` understands; the stored value is normalised by the mapping. */
export const dateTime = v.pipe(
  v.string(),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'a date-time'),
);

/**
 * `true` for a time that can order events: an ISO 8601 date-time as valibot's `isoTimestamp` reads
 * it (four-digit year, `T` or a space, seconds, `Z` or an offset `±hh[:mm]`) that `Date.parse`
 * reads too, naming a day the calendar has (`02-30` is refused, though `Date.parse` would roll it
 * into March). Normalised by `isoTime`, such a time sorts as text.
 */
export function isEventTime(value: string): boolean {
  if (!v.is(isoTimestamp, value) || Number.isNaN(Date.parse(value))) return false;
  const [year, month, day] = [value.slice(0, 4), value.slice(5, 7), value.slice(8, 10)].map(Number) as [
    number,
    number,
    number,
  ];
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCDate() === day;
}

const isoTimestamp = v.pipe(v.string(), v.isoTimestamp());

/** A time that orders events (see {@link isEventTime}). */
export const eventTime = v.pipe(
  v.string(),
  v.check(isEventTime, 'an ISO 8601 date-time with a four-digit year, seconds and a zone'),
);

/**
 * An id the provider names an event or an entity by. Its length is counted in UTF-8 bytes, as
 * DynamoDB counts a key's; whether it is well-formed Unicode is checked by ingest before validation
 * (a 400, see `illFormedIdPath`), not here, where it would only quarantine the event.
 */
export const id = v.pipe(
  v.string(),
  // Blank is empty: an id of spaces names nothing a person could tell apart or type back.
  v.check((text) => text.trim() !== '', 'a non-empty id'),
  v.maxBytes(maxIdBytes, `an id of at most ${maxIdBytes} UTF-8 bytes`),
);

/** An amount the job record keeps as a number: it must be stored exactly (see `storableNumber`). */
export const money = v.nullish(v.pipe(v.number(), v.check(storableNumber, storableNumberExpectation)));

/**
 * A job number: text, or a number. A number a double would round (`90071992547409937`) arrives as
 * a {@link JsonNumber} and is kept as the text it was sent as.
 */
export const jobNumber = v.nullish(
  v.union([
    v.string(),
    v.number(),
    v.pipe(
      v.instance(JsonNumber),
      v.transform((n) => n.text),
    ),
  ]),
);
