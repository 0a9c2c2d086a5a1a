import { terminalActive } from '#core/text';
/** Plain-text output helpers: aligned tables, short ids, latency percentiles. */

export interface Column<T> {
  title: string;
  value(row: T): string | number | undefined | null;
  /** Longest cell before it is cut with an ellipsis. */
  max?: number;
  align?: 'left' | 'right';
}

/**
 * At most `max` characters (code points, so a pair of surrogates stays whole), the last one an
 * ellipsis when something was cut. Given text already passed through `visible`: there is no escape
 * sequence left to cut in half, and a `\u{…}` escape is dropped whole rather than left as `\u{1`.
 */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const kept = chars.slice(0, Math.max(1, max - 1)).join('');
  return `${kept.replace(/\\(u(\{[0-9a-f]*)?)?$/, '')}…`;
}

/**
 * An aligned table with a header row; empty cells show as `-`. Every cell goes through `visible`
 * (a stored value cannot move the cursor or start a line of its own), then is cut to its column.
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const value = c.value(row);
      const text = value === undefined || value === null || value === '' ? '-' : String(value);
      // Escaped first, then cut: what is cut is plain text a terminal only shows.
      return cut(visible(text).replace(/\s+/g, ' '), c.max ?? 40);
    }),
  );
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...cells.map((r) => (r[i] as string).length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]?.align === 'right' ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.title)), ...cells.map(line)].join('\n')}\n`;
}

/**
 * JSON has no sets; DynamoDB string sets (a record's `conflicts`) come back as `Set`s, which
 * `JSON.stringify` writes as `{}`. Written as sorted lists instead.
 */
function setsAsLists(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value].sort() : value;
}

/**
 * Key/value lines for one record, one line per attribute; nested values as compact JSON. Names and
 * values go through `visible`: JSON escapes the C0 controls but not C1 or the bidi controls, and
 * a string value is printed as it is.
 */
export function details(record: Record<string, unknown>): string {
  const lines = Object.entries(record).map(([key, value]) => [
    visible(key),
    visible(typeof value === 'string' ? value : (JSON.stringify(value, setsAsLists) ?? String(value))),
  ]);
  const width = Math.max(...lines.map(([key]) => (key as string).length));
  return `${lines.map(([key, text]) => `${(key as string).padEnd(width)}  ${text}`).join('\n')}\n`;
}

/**
 * A value from a stored record, made safe to print for a person: every character of
 * `terminalActive` (core/text.ts) written as
 * `\u{…}` (its code point in hex), so a value cannot move the cursor, recolour the terminal, fake a
 * line of output or reorder the text around it. Everything else, backslashes included, is kept.
 */
export function visible(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.replace(terminalActive, (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}

/**
 * A line for a person (a hint, a message, a summary) with values from outside in it: each
 * interpolated value goes through `visible`, the literal text around it is kept, its newlines
 * included. `say\`no event ${key} in ${where}\n\``.
 */
export function say(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((text, part, i) => text + (i === 0 ? '' : visible(values[i - 1])) + part, '');
}

/**
 * Output that leaves the CLI for a person's terminal, made safe whatever built it: every character
 * `visible` escapes is escaped, but for the line breaks (and, for the progress bar on stderr, the
 * carriage return) the CLI writes itself. The formatters escape each value before this: a newline in
 * a value shows as \u{a} and never reaches here. JSON passes through unchanged (see `json`).
 */
export function guard(text: string, keep: 'newline' | 'newline-and-return' = 'newline'): string {
  return text.replace(terminalActive, (c) =>
    c === '\n' || (c === '\r' && keep === 'newline-and-return')
      ? c
      : `\\u{${(c.codePointAt(0) as number).toString(16)}}`,
  );
}

/** Characters JSON.stringify leaves as they are that a terminal acts on: DEL, C1, line and bidi marks. */
const rawInJson = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `2026-06-17T14:38:55.904Z` → `2026-06-17 14:38:55`. */
export function shortTime(iso: unknown): string | undefined {
  return typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : undefined;
}

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function ms(value: number): string {
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

/**
 * Pretty JSON, the exact values: besides what JSON.stringify escapes (C0, quotes, backslashes, lone
 * surrogates), DEL, the C1 controls and the line and bidi marks are written as `\uXXXX` escapes.
 * They can only occur inside strings, where the escape parses back to the same character: the
 * JSON means the same, and printed to a terminal it cannot act on it.
 */
export function json(value: unknown): string {
  const text = JSON.stringify(value, setsAsLists, 2) ?? 'null';
  return `${text.replace(rawInJson, (c) => `\\u${(c.charCodeAt(0) as number).toString(16).padStart(4, '0')}`)}\n`;
}
