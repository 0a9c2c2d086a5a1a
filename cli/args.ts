import { isoTime, quote } from './format.ts';

/**
 * The shapes every command's flags are declared in, and validators that turn a bad value into a
 * `UsageError` naming the flag and what it expects. Parsing itself is commander's (see main.ts);
 * what commander gets wrong or words its own way is put right here, for the CLI and `npm start`
 * (local/start.ts) alike: `swallowedFlag`, `emptyValue`, `commanderUsage`.
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

/**
 * commander gives a flag that takes a value the next word, whatever it is: `--data-dir --dry-run`
 * would make `--dry-run` a folder and replay for real (`npm start -- --data-dir --reset`, a folder
 * named `--reset`). A flag followed by another flag (or `-h`) is refused instead, as `--data-dir`
 * with nothing after it is; a value that starts with `--` is given as `--flag=--value`.
 * Single-dash values (`--limit -3`) still reach the flag's own check. `args` are the words after
 * the command's name; `options` its flags.
 *
 * @throws UsageError naming the flag.
 */
export function swallowedFlag(args: readonly string[], options: OptionSpec): void {
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i] as string;
    if (word === '--') return;
    const flag = /^--([\w-]+)$/.exec(word)?.[1];
    if (flag === undefined || !Object.hasOwn(options, flag) || options[flag]?.type !== 'string') continue;
    const next = args[i + 1];
    if (next !== undefined && (next.startsWith('--') || next === '-h')) {
      throw new UsageError(`${word} needs a value (for one that starts with "--", write ${word}=…)`);
    }
    i += 1;
  }
}

/**
 * No flag takes an empty value (`--account=`, `--status ''`, `--data-dir ''`, or only spaces).
 *
 * @throws UsageError naming the flag.
 */
export function emptyValue(flag: string, value: unknown): void {
  const empty = (v: unknown) => typeof v === 'string' && v.trim() === '';
  if (empty(value) || (Array.isArray(value) && value.some(empty))) {
    throw new UsageError(`${flag} needs a value (got an empty one)`);
  }
}

/**
 * A commander parse error (`CommanderError`: its `code` and `message`) in the CLI's words: one
 * line, the flag as typed, what it expects, commander's suggestion when it has one. `options` are
 * the flags of the command that was parsed, if known. Not for help shown or an unknown command.
 */
export function commanderUsage(error: { code: string; message: string }, options?: OptionSpec): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  const suggestion = /\(Did you mean ([^?]+)\?\)/.exec(error.message)?.[1];
  const guess = suggestion ? ` (did you mean ${suggestion}?)` : '';
  switch (error.code) {
    case 'commander.unknownOption': {
      // commander splits `--flag=value` only for flags that take a value.
      const [flag, value] = quoted.split(/=(.*)/s);
      const name = flag?.slice(2) ?? '';
      return value !== undefined &&
        options &&
        Object.hasOwn(options, name) &&
        options[name]?.type === 'boolean'
        ? `${flag} does not take a value`
        : `unknown option ${quoted}${guess}`;
    }
    case 'commander.optionMissingArgument':
      return `${/^(--?[\w-]+)/.exec(quoted)?.[1] ?? quoted} needs a value`;
    default:
      return error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  }
}

/**
 * A whole number within bounds, e.g. `--count 10`; without `max`, any from `min` up (to
 * `Number.MAX_SAFE_INTEGER`, past which a number is not exact).
 */
export function integer(
  values: Values,
  name: string,
  fallback: number,
  bounds: { min: number; max?: number },
): number {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new UsageError(`--${name} must be a whole number (got ${quote(raw)})`);
  }
  const n = Number(raw);
  const { min, max } = bounds;
  if (n < min || (max !== undefined && n > max)) {
    throw new UsageError(
      max === undefined
        ? `--${name} must be at least ${min} (got ${n})`
        : `--${name} must be between ${min} and ${max} (got ${n})`,
    );
  }
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`--${name} must be at most ${Number.MAX_SAFE_INTEGER} (got ${raw.trim()})`);
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
    throw new UsageError(`--${name} must be a rate between 0 and 1, or a percentage (got ${quote(raw)})`);
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
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got ${quote(raw)})`);
  }
  return raw as T;
}

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: an ISO 8601 timestamp or date, or a duration ago (`30m`, `2h`, `7d`).
 * Returned as ISO 8601 UTC, the form the tables store, so it compares as text. Strict
 * (`isoTime`, shared with `utcTime`): a real calendar date and time, nothing after it.
 */
export function time(values: Values, name: string, now: Date = new Date()): string | undefined {
  const raw = str(values, name)?.trim();
  if (raw === undefined) return undefined;
  const ago = /^(\d+)\s*([smhdw])$/.exec(raw);
  if (ago)
    return new Date(now.getTime() - Number(ago[1]) * (units[ago[2] as string] as number)).toISOString();
  const ms = isoTime(raw);
  if (ms !== undefined) return new Date(ms).toISOString();
  throw new UsageError(
    `--${name} must be an ISO 8601 time (2026-06-17 or 2026-06-17T14:00:00Z: a real date and time, nothing after it) or a duration ago like 30m, 2h, 7d (got ${quote(raw)})`,
  );
}
