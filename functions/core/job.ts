import { isSafeNumber } from 'lossless-json';
import { JsonNumber } from './json.ts';
import { storableNumber } from './limits.ts';

/**
 * The canonical job fields every provider maps onto. A field that an event does not carry is
 * `undefined` and leaves the stored value alone; providers drop `null`s for the same reason (a
 * sparse event must not erase what a richer one stored).
 */
export interface JobFields {
  status?: string;
  canceled?: boolean;
  jobNumber?: string;
  customerId?: string;
  customerName?: string;
  customerEmail?: string;
  customerPhone?: string;
  description?: string;
  workDetails?: string;
  scheduledStart?: string;
  scheduledEnd?: string;
  startedAt?: string;
  completedAt?: string;
  timezone?: string;
  address?: string;
  serviceName?: string;
  total?: number;
  amountPaid?: number;
  amountDue?: number;
}

/** What one event does to one job. */
export interface JobChange {
  jobId: string;
  fields: JobFields;
  /**
   * Where the event puts the job in its provider's lifecycle (higher is later), for providers
   * whose events carry no event time (Zenbooker). With a stage, the job is ordered by
   * {@link lifecycleOrder}; without one, by the event time.
   */
  stage?: number;
  /** The job's own time for that stage (ISO 8601 UTC), when the payload has one. */
  stageTime?: string;
}

/**
 * The sortable text that orders a job's events when they carry a lifecycle stage: the stage, then
 * the stage's own time (`-`, which sorts before any time, when there is none), then the receive
 * time, as `<stage>.<stage time|->.<received at>`. A late delivery of an earlier stage therefore
 * never overtakes a later one, and within a stage a later delivery wins unless the payload's own
 * time says otherwise. Stages are single digits and times are 24-character ISO strings, so the
 * text compares field by field.
 */
export function lifecycleOrder(stage: number, stageTime: string | undefined, receivedAt: string): string {
  return `${stage}.${stageTime ?? '-'}.${receivedAt}`;
}

/** Free text a person wrote about the work: kept long. */
const longTextFields = new Set<keyof JobFields>(['description', 'workDetails']);
export const maxLongTextChars = 4096;
export const maxTextChars = 256;

/**
 * Caps the canonical text fields: they are a view of the payload, which is stored whole beside
 * them, and the job item must stay inside DynamoDB's 400 KB with a 300 KiB payload next to fields
 * kept from earlier events. Without a cap an authentic event could be accepted and never stored.
 */
export function clipFields(fields: JobFields): JobFields {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const limit = longTextFields.has(name as keyof JobFields) ? maxLongTextChars : maxTextChars;
    // Well-formed after the cut: a lone surrogate (sent, or made by cutting a pair in two) would
    // reach DynamoDB as U+FFFD at best; the raw body keeps the text as it was sent.
    out[name] =
      typeof value === 'string'
        ? (value.length > limit ? value.slice(0, limit) : value).toWellFormed()
        : value;
  }
  return out as JobFields;
}

/** Keeps only the entries whose value is neither `null` nor `undefined`. */
export function present<T extends object>(fields: { [K in keyof T]: T[K] | null | undefined }): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== null && value !== undefined),
  ) as Partial<T>;
}

/** Normalises a provider time to ISO 8601 UTC with milliseconds, so stored times compare as text. */
export function isoTime(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * The sortable text that orders a job's events by their own time: `occurredAt` (ISO 8601 UTC with
 * milliseconds, the form stored since the first version), followed, when the time as sent (`sent`)
 * has digits beyond the millisecond, by those digits after the `Z`, six of them (to the
 * nanosecond), zero-padded. Two times inside one millisecond then still compare as the instants they
 * are (Standard Webhooks senders send microseconds), and a text without them, including every one
 * stored before, sorts as its millisecond's first instant.
 */
export function eventTimeOrder(occurredAt: string, sent?: string): string {
  const fraction = sent === undefined ? undefined : /[Tt ]\d{2}:\d{2}:\d{2}[.,](\d+)/.exec(sent)?.[1];
  const beyond = fraction === undefined ? '' : fraction.slice(3, 9).padEnd(6, '0');
  return /^0*$/.test(beyond) ? occurredAt : `${occurredAt}${beyond}`;
}

/**
 * A job number as text: a string as sent, a number as JavaScript writes it, a {@link JsonNumber}
 * (one a double would round) as it was written; anything else is `undefined`.
 */
export function jobNumberText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value instanceof JsonNumber ? value.text : undefined;
}

/** Numbers or numeric strings to numbers; anything else is dropped. */
export function amount(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/**
 * `a − b` computed on their decimal forms, so `0.3 − 0.1` is `0.2`, not `0.19999999999999998`;
 * `undefined` when a double cannot hold the result exactly or the store could not keep it
 * (`storableNumber`): a derived amount is then left out, never rounded, and never quarantines an
 * event for a field its sender did not send.
 */
export function exactDifference(a: number, b: number): number | undefined {
  const x = decimalParts(a);
  const y = decimalParts(b);
  if (!x || !y) return undefined;
  const exponent = Math.min(x.exponent, y.exponent);
  const scaled = (p: { mantissa: bigint; exponent: number }) =>
    p.mantissa * 10n ** BigInt(p.exponent - exponent);
  const text = `${scaled(x) - scaled(y)}e${exponent}`;
  if (!isSafeNumber(text)) return undefined;
  const difference = Number(text);
  return storableNumber(difference) ? difference : undefined;
}

/** A finite number's shortest decimal form as `mantissa × 10^exponent`. */
function decimalParts(value: number): { mantissa: bigint; exponent: number } | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', power = '0'] = match;
  return { mantissa: BigInt(`${sign}${whole}${fraction}`), exponent: Number(power) - fraction.length };
}
