/**
 * The shapes every command's flags are declared in, and validators that turn a bad value into a
 * `UsageError` naming the flag and what it expects. Parsing itself is commander's (see main.ts).
 */

/** A mistake in how the CLI was called: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A failure while doing the work (stack unreachable, nothing found): exit code 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/**
 * A command's flags by long name (without `--`): a `string` flag takes a value (`--limit 5`,
 * `--limit=5`; `multiple` keeps every one given, in order), a `boolean` flag takes none.
 * `short` is a one-letter alias (only `-h` for `--help`).
 */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** Parsed flags by long name: a string, `true`, a list for `multiple` flags, or absent. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export function str(values: Values, name: string): string | undefined {
  const value = values[name];
  if (Array.isArray(value)) return value.at(-1) as string | undefined;
  return typeof value === 'string' ? value : undefined;
}

export function list(values: Values, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** A whole number within bounds, e.g. `--count 10`. */
export function integer(
  values: Values,
  name: string,
  fallback: number,
  bounds: { min: number; max: number },
): number {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new UsageError(`--${name} must be a whole number (got ${JSON.stringify(raw)})`);
  }
  const n = Number(raw);
  if (n < bounds.min || n > bounds.max) {
    throw new UsageError(`--${name} must be between ${bounds.min} and ${bounds.max} (got ${n})`);
  }
  return n;
}

/** A rate between 0 and 1, also accepted as a percentage: `0.2` or `20%`. */
export function rate(values: Values, name: string): number {
  const raw = str(values, name);
  if (raw === undefined) return 0;
  const percent = raw.trim().endsWith('%');
  const n = Number(percent ? raw.trim().slice(0, -1) : raw);
  const value = percent ? n / 100 : n;
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(
      `--${name} must be a rate between 0 and 1, or a percentage (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

export function oneOf<const T extends string>(
  values: Values,
  name: string,
  allowed: readonly T[],
  fallback?: T,
): T | undefined {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
  }
  return raw as T;
}

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: an ISO 8601 timestamp or date, or a duration ago (`30m`, `2h`, `7d`).
 * Returned as ISO 8601 UTC, the form the tables store, so it compares as text.
 */
export function time(values: Values, name: string, now: Date = new Date()): string | undefined {
  const raw = str(values, name)?.trim();
  if (raw === undefined) return undefined;
  const ago = /^(\d+)\s*([smhdw])$/.exec(raw);
  if (ago)
    return new Date(now.getTime() - Number(ago[1]) * (units[ago[2] as string] as number)).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  throw new UsageError(
    `--${name} must be an ISO 8601 time (2026-06-17 or 2026-06-17T14:00:00Z) or a duration ago like 30m, 2h, 7d (got ${JSON.stringify(raw)})`,
  );
}
