/** Plain-text output helpers: aligned tables, short ids, latency percentiles. */

export interface Column<T> {
  title: string;
  value(row: T): string | number | undefined | null;
  /** Longest cell before it is cut with an ellipsis. */
  max?: number;
  align?: 'left' | 'right';
}

export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

/** An aligned table with a header row; empty cells show as `-`. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const value = c.value(row);
      const text = value === undefined || value === null || value === '' ? '-' : String(value);
      return cut(text.replace(/\s+/g, ' '), c.max ?? 40);
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

/** Key/value lines for one record; nested values as compact JSON. */
export function details(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  const width = Math.max(...keys.map((k) => k.length));
  return `${keys
    .map((key) => {
      const value = record[key];
      const text = typeof value === 'string' ? value : JSON.stringify(value, setsAsLists);
      return `${key.padEnd(width)}  ${text}`;
    })
    .join('\n')}\n`;
}

/**
 * Characters that would act on a terminal instead of showing: the C0 controls (newline and ESC
 * included), DEL and the C1 controls (`\p{Cc}`), the line and paragraph separators, and the
 * bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E/F, U+202A–E, U+2066–9).
 */
const invisible = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A value from a stored record, made safe to print for a person: every character above written as
 * `\u{…}` (its code point in hex), so a value cannot move the cursor, recolour the terminal, fake a
 * line of output or reorder the text around it. Everything else, backslashes included, is kept.
 */
export function visible(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.replace(invisible, (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}

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

export function json(value: unknown): string {
  return `${JSON.stringify(value, setsAsLists, 2)}\n`;
}
