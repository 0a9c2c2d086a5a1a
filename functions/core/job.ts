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
