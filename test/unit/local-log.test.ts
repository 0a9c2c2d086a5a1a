import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLine, formatValue, lineLogger } from '../../local/log.ts';

/**
 * The local runner's log lines carry values from the sender (event keys, event types, error
 * messages): none may reach the terminal as a control character, a line break or a bidi override.
 */

/** Everything a terminal acts on: C0, DEL, C1, U+2028/9 and the bidi marks, overrides and isolates. */
const invisible = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const now = new Date('2026-06-17T14:38:55.904Z');
const line = (data: Record<string, unknown>, message = 'event accepted') =>
  formatLine('ingest', 'info', message, data, false, now);

/** The value logged for `key` in a line whose last field is `end=1`. */
function loggedValue(text: string, key: string): string {
  const start = text.indexOf(` ${key}=`) + key.length + 2;
  const raw = text.slice(start, text.lastIndexOf(' end=1'));
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
}

const interesting = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({
    unit: fc.constantFrom(
      '\u001b',
      '\u0007',
      ']52;c;',
      'aGk',
      '\n',
      '\r',
      '\u0085',
      '\u009b',
      '\u007f',
      '\u2028',
      '\u2029',
      '\u202e',
      '\u2066',
      '\u061c',
      '\u200f',
      '"',
      '\\',
      '=',
      ' ',
      'x',
      'é',
    ),
  }),
);

describe('local log lines', () => {
  it('escapes an OSC 52 clipboard write in an event key', () => {
    // No `=` or space: written as is before, escape sequence and all.
    const osc52 = '\u001b]52;c;aGVsbG8\u0007';
    const text = line({ provider: 'cooledge', eventKey: osc52, end: 1 });
    expect(text).not.toMatch(invisible);
    expect(text).toContain('eventKey="\\u001b]52;c;aGVsbG8\\u0007"');
    expect(loggedValue(text, 'eventKey')).toBe(osc52);
  });

  it.each([
    ['CSI as a C1 control', '\u009b31mred'],
    ['NEL', 'a\u0085b'],
    ['DEL', 'a\u007fb'],
    ['a line separator', 'job\u2028.completed'],
    ['a paragraph separator', 'job\u2029.completed'],
    ['a right-to-left override', 'job.\u202edetelpmoc'],
    ['a bidi isolate', '\u2067job\u2069'],
    ['an Arabic letter mark', 'a\u061cb'],
    ['a carriage return', 'ok\rfake line'],
    ['a newline', 'ok\n12:00:00.000 ingest  info  event accepted'],
  ])('escapes %s in an event type', (_, value) => {
    const text = line({ eventType: value, end: 1 });
    expect(text).not.toMatch(invisible);
    expect(loggedValue(text, 'eventType')).toBe(value);
  });

  it('escapes every invisible character of any value, which reads back exactly (property)', () => {
    fc.assert(
      fc.property(interesting, (value) => {
        const text = line({ eventKey: value, end: 1 });
        expect(text).not.toMatch(invisible);
        expect(loggedValue(text, 'eventKey')).toBe(value);
        // The value cannot pose as another field: a space, `=` or quote means it is quoted.
        const raw = text.slice(text.indexOf(' eventKey=') + 10, text.lastIndexOf(' end=1'));
        if (!raw.startsWith('"')) expect(raw).toMatch(/^[^\s="\\]+$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('escapes invisible characters in nested values, field names and the message too', () => {
    fc.assert(
      fc.property(interesting, interesting, (a, b) => {
        const text = line({ [`k${a}`]: { issues: [a, b] }, end: 1 }, `msg ${b}`);
        expect(text).not.toMatch(invisible);
      }),
      { numRuns: 300 },
    );
    const nested = formatValue({ path: '\u009b2J', note: 'a\u202eb' });
    expect(JSON.parse(nested)).toEqual({ path: '\u009b2J', note: 'a\u202eb' });
  });

  it('keeps plain values plain and quotes the empty string', () => {
    expect(line({ provider: 'cooledge', eventType: 'job.completed', size: 12, ok: true })).toBe(
      '14:38:55.904 ingest  info  event accepted provider=cooledge eventType=job.completed size=12 ok=true',
    );
    expect(formatValue('')).toBe('""');
    expect(formatValue('a b')).toBe('"a b"');
    expect(formatValue('a\\b')).toBe('"a\\\\b"');
    expect(formatValue(10n)).toBe('10');
  });

  it('writes one line per call whatever the values', () => {
    const lines: string[] = [];
    const logger = lineLogger('consume', { write: (text) => lines.push(text) }, true);
    logger.error('event failed', { eventKey: 'a\nb\u2028c', error: 'Error: \u001b[2Jgone' });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.match(/\n/g)).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    // The only escape sequences are the logger's own colours (dim, red, reset).
    const uncoloured = ['\u001b[2m', '\u001b[31m', '\u001b[0m'].reduce(
      (text, code) => text.replaceAll(code, ''),
      lines[0] ?? '',
    );
    expect(uncoloured.trimEnd()).not.toMatch(invisible);
  });
});
