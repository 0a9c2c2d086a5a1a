import stringWidth from 'string-width';
import { terminalActive } from '#core/text';
/** Plain-text output helpers: aligned tables, short ids, milliseconds (percentiles: tools/stats.ts). */

export interface Column<T> {
  title: string;
  value(row: T): string | number | undefined | null;
  /** Longest cell before it is cut with an ellipsis. */
  max?: number;
  /**
   * How the values sit under the header. The rule: every value starts at its header's first
   * column, so it reads as belonging to that header and never to the next one (a short value
   * pushed to the right edge of a wider header sits nearer the next column than its own).
   *  - `left` (the default): each value as it is. Text, ids, times, and the small counts read one
   *    row at a time, as a label of that row (`events` ISSUES, `jobs` EVENTS).
   *  - `right`: quantities compared down the column: the values are right-aligned among
   *    themselves (ones under ones), and that block is placed at the header's first column, not
   *    at the right edge of a header wider than its values. The header stays left-aligned.
   */
  align?: 'left' | 'right';
}

/** Grapheme clusters: what a terminal draws as one character (an emoji sequence, a letter and accents). */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Columns a terminal gives one grapheme cluster: 0, 1 or 2 (`string-width`'s reckoning). */
const clusterWidth = (cluster: string): number => stringWidth(cluster);

/**
 * The columns `text` takes on a terminal (its display width), not its UTF-16 length: a CJK
 * character or an emoji takes two, a combining accent none. Measured by `string-width` (Unicode's
 * East Asian Width and emoji data, kept up to date there); East Asian Ambiguous characters count
 * as one, as terminals outside CJK locales draw them. Given text already passed through `visible`
 * (no control characters).
 */
export function displayWidth(text: string): number {
  // ASCII, the common case, is one column a character.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return stringWidth(text);
}

/** `text` followed by spaces up to `width` columns (`padEnd` by display width). */
export function padEndWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Spaces then `text`, up to `width` columns (`padStart` by display width). */
export function padStartWidth(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

/**
 * At most `max` columns of display width (`displayWidth`), cut between grapheme clusters (an emoji
 * sequence or a letter and its accents stays whole), the last column an ellipsis when something was
 * cut; a first cluster wider than `max - 1` is kept whole all the same (`table` measures what it
 * got, so the columns stay aligned). Given text already passed through `visible`: there is no
 * escape sequence left to cut in half, and a `\u{…}` escape is dropped whole rather than left as
 * `\u{1`.
 */
export function cut(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  const room = Math.max(1, max - 1);
  let kept = '';
  let width = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = clusterWidth(segment);
    // The first cluster is kept whatever its width: a cell is never only an ellipsis.
    if (kept !== '' && width + w > room) break;
    kept += segment;
    width += w;
  }
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
  // The widest value of each column, and the column's width (its header's, if that is wider).
  // Display widths, not string lengths: a CJK name or an emoji takes two columns a character.
  const valueWidths = columns.map((_, i) => Math.max(0, ...cells.map((r) => displayWidth(r[i] as string))));
  const widths = columns.map((c, i) => Math.max(displayWidth(c.title), valueWidths[i] ?? 0));
  const line = (values: string[], header: boolean) =>
    values
      .map((v, i) => {
        // Right-aligned among the column's values, the block starting at the header's first column.
        const cell = !header && columns[i]?.align === 'right' ? padStartWidth(v, valueWidths[i] ?? 0) : v;
        return padEndWidth(cell, widths[i] ?? 0);
      })
      .join('  ')
      .trimEnd();
  const titles = columns.map((c) => c.title);
  return `${[line(titles, true), ...cells.map((r) => line(r, false))].join('\n')}\n`;
}

/**
 * JSON has no sets; DynamoDB string sets (a record's `conflicts`) come back as `Set`s, which
 * `JSON.stringify` writes as `{}`. Written as sorted lists instead.
 */
function setsAsLists(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value].sort() : value;
}

/** How `details` lays out one kind of record (`jobLayout` in jobs.ts, `eventLayout` in events.ts). */
export interface DetailsLayout {
  /**
   * Attribute names in the order they are printed: identity, status, times, customer,
   * bookkeeping. A name the record lacks is skipped; the record's other attributes follow, in
   * alphabetical order (by UTF-16 code unit, as `Array.prototype.sort`), so none is ever dropped.
   */
  order: readonly string[];
  /**
   * The table's TTL attribute (`timeToLiveAttribute` in infra/definitions.ts), a whole number of
   * seconds since the epoch: printed as the UTC time the record expires (`epochSecondsTime`).
   */
  ttl?: string;
}

/** What follows the TTL attribute's time in `details`. */
export const ttlNote = '(TTL: the record expires then)';

/**
 * Key/value lines for one record, one line per attribute, in `layout`'s order (default: all
 * alphabetical). A string holding an ISO 8601 UTC time is printed as `utcTime` writes it
 * (`2026-06-17 14:38:55.904 UTC`), the TTL attribute as the time it expires
 * (`2026-07-17 14:38:55 UTC (TTL: …)`); other strings as they are, anything else as compact JSON.
 * For a person only: `--json` prints the stored values. Names and values go through `visible`:
 * JSON escapes the C0 controls but not C1 or the bidi controls, and a string value is printed as
 * it is.
 */
export function details(record: Record<string, unknown>, layout: DetailsLayout = { order: [] }): string {
  const listed = new Set(layout.order);
  const names = [
    ...[...listed].filter((name) => Object.hasOwn(record, name)),
    ...Object.keys(record)
      .filter((name) => !listed.has(name))
      .sort(),
  ];
  const shown = (name: string, value: unknown): string => {
    const expires = name === layout.ttl ? epochSecondsTime(value) : undefined;
    if (expires !== undefined) return `${expires} ${ttlNote}`;
    return (
      utcTime(value) ??
      (typeof value === 'string' ? value : (JSON.stringify(value, setsAsLists) ?? String(value)))
    );
  };
  const lines = names.map((name) => [visible(name), visible(shown(name, record[name]))] as const);
  const width = Math.max(...lines.map(([name]) => displayWidth(name)));
  return `${lines.map(([name, text]) => `${padEndWidth(name, width)}  ${text}`).join('\n')}\n`;
}

/**
 * An ISO 8601 date or time, strictly: `2026-06-17`, or a date with a time (`T`, or a space) of
 * hours and minutes, optional seconds and fraction, and optional zone (`Z`, `+02:00`, `+0200`),
 * nothing before or after it. Matched, then checked field by field (`isoTime`).
 */
const isoShape =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The instant an ISO 8601 date or time (`isoShape`) stands for, in milliseconds since the epoch;
 * `undefined` for anything else: another format, something after it (`2026-11-30junk`), or a date
 * or time that does not exist (`2026-02-30`, `24:00`, `23:59:60`, an offset of `+24:00`), which
 * `Date.parse` would roll over to another day. As `Date.parse` reads them: a date alone is UTC
 * midnight, a time without a zone is local time. The one check behind `--since`/`--until`
 * (cli/args.ts `time`) and `utcTime`.
 */
export function isoTime(text: string): number | undefined {
  const match = isoShape.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, sec, fraction, zone] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, sec].map((n) => Number(n ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  // A real calendar day and wall-clock time: built in UTC, it must read back field for field
  // (`setUTCFullYear`, unlike `Date.UTC`, takes years below 100 as they are).
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  const real =
    utc.getUTCFullYear() === year &&
    utc.getUTCMonth() === month - 1 &&
    utc.getUTCDate() === day &&
    utc.getUTCHours() === hour &&
    utc.getUTCMinutes() === minute &&
    utc.getUTCSeconds() === second;
  if (!real) return undefined;
  if (h === undefined) return utc.getTime();
  if (zone === undefined) {
    const local = new Date(0);
    local.setFullYear(year, month - 1, day);
    local.setHours(hour, minute, second, ms);
    return local.getTime();
  }
  if (zone === 'Z' || zone === 'z') return utc.getTime();
  const [, sign, oh, om] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) as RegExpExecArray;
  if (Number(oh) > 23 || Number(om) > 59) return undefined;
  const offset = (Number(oh) * 60 + Number(om)) * 60_000 * (sign === '-' ? -1 : 1);
  return utc.getTime() - offset;
}

/** An ISO 8601 time in UTC as the store writes them (`Date.toISOString`), milliseconds optional. */
const isoUtc = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z$/;

/**
 * `2026-06-17T14:38:55.904Z` → `2026-06-17 14:38:55.904 UTC`: the same digits, labelled. Anything
 * that is not such a time (another format, an offset, an impossible date) → `undefined`.
 */
export function utcTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = isoUtc.exec(value);
  // A real instant (`isoTime`): `Date.parse` alone takes 2026-02-30 and 24:00, which it rolls over.
  if (!match || isoTime(value) === undefined) return undefined;
  return `${match[1]} ${match[2]} UTC`;
}

/**
 * A whole number of seconds since the epoch (a DynamoDB TTL) → `2026-07-17 14:38:55 UTC`;
 * `undefined` for anything else (a fraction, a string, a year past 9999).
 */
export function epochSecondsTime(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || Math.abs(value) > 8.64e12)
    return undefined;
  return utcTime(new Date(value * 1000).toISOString())?.replace(/\.000 UTC$/, ' UTC');
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
 * A value quoted in a message (`no job "…"`): in double quotes, a `"` or `\` in it written `\"`
 * or `\\`, and every character `visible` escapes written as it does, `\u{…}`. One style for every
 * quoted value, whatever it holds (JSON.stringify would write ESC as `\u001b` but leave a bidi
 * override raw, for `visible` to write as `\u{202e}` beside it).
 */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return `"${visible(text.replace(/[\\"]/g, (c) => `\\${c}`))}"`;
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

/**
 * `2026-06-17T14:38:55.904Z` → `2026-06-17 14:38:55`: a UTC time (`utcTime`) in a list, where the
 * column's header says UTC (`timeColumn`). Any other string as it is (it carries its own zone, if
 * any); anything else `undefined`.
 */
export function shortTime(iso: unknown): string | undefined {
  const utc = utcTime(iso);
  if (utc !== undefined) return utc.replace(/(\.\d+)? UTC$/, '');
  return typeof iso === 'string' ? iso : undefined;
}

/**
 * A table column of times, every list's one form: the header says the zone (`UPDATED (UTC)`), each
 * value is `shortTime`'s `2026-06-17 14:38:55`.
 */
export function timeColumn<T>(title: string, value: (row: T) => unknown): Column<T> {
  return { title: `${title} (UTC)`, value: (row) => shortTime(value(row)) };
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
