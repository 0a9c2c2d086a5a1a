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
   * whose events carry no reliable event time; absent when the event says nothing about it. The
   * job's ordering compares stage first, then event time, then event key (see `consume.ts`).
   */
  stage?: number;
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

/** Numbers or numeric strings to numbers; anything else is dropped. */
export function amount(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}
