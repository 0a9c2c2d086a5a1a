import type { Message } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import { eventsTable } from '#infra/definitions';
import { cut, details, displayWidth, json, quote, table, visible } from '../../cli/format.ts';
import { peekNote } from '../../cli/redrive.ts';
import type { Item } from '../../cli/store.ts';
import type { Target } from '../../cli/target.ts';
import { cli, FakeEventsTable, fakeDeadLetterQueue, fakeQueueUrl, fakeTarget } from './fake-stack.ts';
import { acts, actsBesidesNewline, nasty } from './hostile.ts';

const stack = vi.hoisted(() => ({ target: undefined as Target | undefined }));
vi.mock('../../cli/target.ts', () => ({ resolveTarget: () => stack.target }));

/** A value that reaches the CLI as an argument: one `parseArgs` takes as a positional. */
const argument = nasty.map((value) => `k${value}`);

function job(id: string, v: string[]): Item {
  return {
    pk: jobPk('cooledge', id),
    provider: 'cooledge',
    jobId: id,
    accountId: v[0],
    status: v[1],
    jobNumber: v[2],
    customerName: v[3],
    description: v[4],
    scheduledStart: v[5],
    completedAt: '2026-06-17T12:00:00.000Z',
    eventCount: 3,
    lastEventType: v[6],
    updatedAt: '2026-06-17T12:00:01.000Z',
    payload: { customer_name: v[3], notes: [v[4], { [v[5] as string]: v[6] }] },
  };
}

function event(key: string, v: string[]): Item {
  return {
    pk: eventPk('cooledge', key),
    provider: 'cooledge',
    eventKey: key,
    eventType: v[0],
    outcome: 'quarantined',
    receivedAt: '2026-06-17T12:00:00.000Z',
    entityIds: { job_id: v[1] },
    issues: [{ path: v[2], message: v[3] }],
    reason: v[4],
    rawBody: v[5],
    headers: { 'content-type': v[6] },
  };
}

function deadLetter(v: string[]): Message {
  return {
    MessageId: v[0],
    Body: JSON.stringify({ v: 1, provider: 'cooledge', eventKey: v[1], bodyBase64: '' }),
    MessageAttributes: {
      provider: { DataType: 'String', StringValue: v[2] },
      eventType: { DataType: 'String', StringValue: v[3] },
    },
    Attributes: { SentTimestamp: '1781697600000' },
  };
}

/** Text for a person: nothing a terminal acts on but the CLI's own line breaks, `lines` of them. */
function expectSafe(text: string, lines: number) {
  expect(text).not.toMatch(actsBesidesNewline);
  expect(text.endsWith('\n')).toBe(true);
  expect(text.split('\n')).toHaveLength(lines + 1);
}

/** The index's view of an event: `events` (list) prints and returns these. */
function projected(item: Item): Item {
  const index = eventsTable.globalSecondaryIndexes[0];
  const keep: string[] = ['pk', index.partitionKey.name, index.sortKey.name, ...index.nonKeyAttributes];
  return Object.fromEntries(Object.entries(item).filter(([name]) => keep.includes(name)));
}

describe('cli output: stored values cannot act on the terminal', () => {
  it('jobs, jobs show, events, events show and redrive --dry-run print escaped text, and exact JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        argument,
        argument,
        fc.array(nasty, { minLength: 7, maxLength: 7 }),
        async (jobId, eventKey, v) => {
          const storedJob = job(jobId, v);
          const storedEvent = event(eventKey, v);
          const table = new FakeEventsTable([storedEvent], [storedJob]);
          stack.target = fakeTarget(table);

          const jobs = await cli(['jobs']);
          expect(jobs.stderr).toBe('');
          expectSafe(jobs.stdout, 2);
          const { payload: _payload, ...withoutPayload } = storedJob;
          expect(JSON.parse((await cli(['jobs', '--json'])).stdout)).toEqual([withoutPayload]);

          const shown = await cli(['jobs', 'show', jobId, '--provider', 'cooledge', '--payload']);
          expect(shown.stderr).toBe('');
          expectSafe(shown.stdout, Object.keys(storedJob).length);
          expect(shown.stdout).toContain(visible(v[3]));
          const shownJson = await cli([
            'jobs',
            'show',
            jobId,
            '--provider',
            'cooledge',
            '--payload',
            '--json',
          ]);
          expect(shownJson.stdout).not.toMatch(actsBesidesNewline);
          expect(JSON.parse(shownJson.stdout)).toEqual(storedJob);

          const events = await cli(['events']);
          expect(events.stderr).toBe('');
          expectSafe(events.stdout, 2);
          const eventsJson = await cli(['events', '--json']);
          expect(eventsJson.stdout).not.toMatch(actsBesidesNewline);
          expect(JSON.parse(eventsJson.stdout)).toEqual([projected(storedEvent)]);

          const shownEvent = await cli(['events', 'show', eventKey, '--provider', 'cooledge', '--body']);
          expect(shownEvent.stderr).toBe('');
          expectSafe(shownEvent.stdout, Object.keys(storedEvent).length);
          expect(shownEvent.stdout).toContain(visible(v[4]));
          const eventJson = await cli([
            'events',
            'show',
            eventKey,
            '--provider',
            'cooledge',
            '--body',
            '--json',
          ]);
          expect(JSON.parse(eventJson.stdout)).toEqual(storedEvent);

          const message = deadLetter(v);
          stack.target = fakeTarget(table, fakeDeadLetterQueue([message]));
          const redrive = await cli(['redrive', '--dry-run']);
          expect(redrive.stderr).toBe('');
          // Header, one message, the count and the note on receive counts.
          expectSafe(redrive.stdout, 4);
          stack.target = fakeTarget(table, fakeDeadLetterQueue([message]));
          const redriveJson = JSON.parse((await cli(['redrive', '--dry-run', '--json'])).stdout);
          expect(redriveJson.listed).toEqual([
            expect.objectContaining({ messageId: v[0], eventKey: v[1], provider: v[2], eventType: v[3] }),
          ]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the screen-clearing customer name from the issue shows as text in `jobs`', async () => {
    const stored = job('j1', ['a', 'scheduled', '1', '\u001b[2J\u001b[HOWNED', 'd\n\u001b[1Afake', 's', 't']);
    stack.target = fakeTarget(new FakeEventsTable([], [stored]));
    const list = await cli(['jobs']);
    // Escaped, then cut to the CUSTOMER column's 20 characters.
    expect(list.stdout).toContain(' \\u{1b}[2J\\u{1b}[HOW… ');
    expect(list.stdout).not.toContain('\u001b');
    const shown = await cli(['jobs', 'show', 'j1']);
    expect(shown.stdout).toMatch(/^description +d\\u\{a\}\\u\{1b\}\[1Afake$/m);
  });

  it('an unknown job id with control characters is escaped in the error', async () => {
    stack.target = fakeTarget(new FakeEventsTable());
    const result = await cli(['jobs', 'show', 'x\u001b[2J\n\u202e']);
    expect(result.code).toBe(1);
    // One escape style, \u{…}, for ESC and the newline as for the bidi override.
    expect(result.stderr).toBe('error: no job "x\\u{1b}[2J\\u{a}\\u{202e}" in the fake stack\n');
  });

  it('quotes a value in a message one way, whatever it holds: `quote` (property)', async () => {
    stack.target = fakeTarget(new FakeEventsTable());
    await fc.assert(
      fc.asyncProperty(argument, async (id) => {
        for (const argv of [
          ['jobs', 'show', id],
          ['events', 'show', id],
          ['jobs', 'show', 'j1', id],
          ['replay', '--key', id],
        ]) {
          const result = await cli(argv);
          expect(result.stderr).toContain(quote(id));
          // Never JSON's escapes (\u001b, \n) beside visible's.
          expect(result.stderr.replace(quote(id), '')).not.toMatch(/\\u[0-9a-f]{4}|\\[nrt]/);
          expectSafe(result.stderr, result.stderr.split('\n').length - 1);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('cli format: quote', () => {
  /** Reads a quoted value back: `\u{…}` escapes, `\"` and `\\`. */
  const unquote = (text: string) =>
    text
      .slice(1, -1)
      .replace(/\\u\{([0-9a-f]+)\}|\\(["\\])/g, (_, hex: string | undefined, c: string | undefined) =>
        hex !== undefined ? String.fromCodePoint(Number.parseInt(hex, 16)) : (c as string),
      );

  it('double quotes around the value, nothing a terminal acts on inside, and it reads back whole (property)', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        const quoted = quote(value);
        expect(quoted).not.toMatch(acts);
        expect(quoted.startsWith('"') && quoted.endsWith('"')).toBe(true);
        // No bare quote inside: the value cannot close its quotes early.
        expect(quoted.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/);
        expect(unquote(quoted)).toBe(value);
      }),
    );
    expect(quote('\u001b]0;T\u0007\u202eid')).toBe('"\\u{1b}]0;T\\u{7}\\u{202e}id"');
    expect(quote('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
  });
});

describe('cli format: display width', () => {
  it('counts the columns a terminal gives: two for CJK and emoji, none for a combining mark', () => {
    for (const [text, width] of [
      ['abc', 3],
      ['東京', 4],
      ['한국어', 6],
      ['ｶﾀｶﾅ', 4],
      ['Ｆｕｌｌ', 8],
      ['🚀', 2],
      ['👨‍👩‍👧', 2],
      ['🇯🇵', 2],
      ['☺', 1],
      ['☺️', 2],
      ['é', 1],
      ['e\u0301', 1],
      ['…', 1],
    ] as const)
      expect(displayWidth(text), text).toBe(width);
  });

  /** Text mixing ASCII, CJK, Hangul, fullwidth forms, emoji (with ZWJ and flags) and accents. */
  const mixed = fc
    .array(
      fc.constantFrom(
        'a',
        'Z',
        '7',
        ' ',
        '東',
        '京',
        '한',
        'Ｆ',
        'ｶ',
        '🚀',
        '👨‍👩‍👧',
        '🇯🇵',
        '☺',
        '☺️',
        'e\u0301',
        'ß',
        '…',
      ),
      { maxLength: 14 },
    )
    .map((parts) => parts.join(''));

  it('table: every column starts at the same terminal column on every line (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(mixed, mixed, fc.integer({ min: 0, max: 99999 })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 3, max: 20 }),
        (rows, max) => {
          const text = table(rows, [
            { title: '名前', value: ([a]) => a, max },
            { title: 'B', value: () => '|' },
            { title: 'C', value: ([, b]) => b, max },
            { title: 'N', value: ([, , n]) => n, align: 'right' },
            { title: 'E', value: () => '#' },
          ]);
          const [header, ...lines] = text.trimEnd().split('\n') as [string, ...string[]];
          const column = (line: string, marker: string) =>
            displayWidth(line.slice(0, line.lastIndexOf(marker)));
          for (const line of lines) {
            expect(column(line, '|'), line).toBe(column(header, 'B'));
            expect(column(line, '#'), line).toBe(column(header, 'E'));
          }
          // A cut value takes at most its column's width (a first wide character aside).
          for (const [a] of rows) expect(displayWidth(cut(a, max))).toBeLessThanOrEqual(Math.max(max, 3));
        },
      ),
    );
  });
});

describe('cli format: table, details and json for any value', () => {
  it('table: one line per row, every cell escaped and then cut to its column', () => {
    fc.assert(
      fc.property(
        fc.array(nasty, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 2, max: 30 }),
        (values, max) => {
          const text = table(values, [
            { title: 'A', value: (v) => v, max },
            { title: 'B', value: (v) => v.length, align: 'right' },
          ]);
          expectSafe(text, values.length + 1);
          for (const value of values) {
            const cell = cut(visible(value).replace(/\s+/g, ' '), max);
            expect(text).toContain(cell);
            expect(displayWidth(cell)).toBeLessThanOrEqual(Math.max(max, 3));
          }
        },
      ),
    );
  });

  it('cut never leaves half an escape, whatever the column width', () => {
    const raw = '\u001b]8;;https://evil.example/\u001b\\click\u001b]8;;\u001b\\';
    const link = visible(raw);
    const readBack = (text: string) =>
      text.replace(/\\u\{([0-9a-f]+)\}/g, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)));
    for (let max = 2; max <= link.length + 1; max += 1) {
      const cell = cut(link, max);
      expect(cell).not.toMatch(acts);
      // What is kept is whole escapes and characters: it reads back as the start of the value.
      const kept = cell.replace(/…$/, '');
      expect(raw.startsWith(readBack(kept)), cell).toBe(true);
      expect(kept).not.toMatch(/\\u\{?[0-9a-f]*$/);
    }
    // A pair of surrogates is one character: never split.
    expect(cut('🚀🚀🚀', 2)).toBe('🚀…');
  });

  it('details: one line per attribute, names and values escaped', () => {
    fc.assert(
      fc.property(fc.dictionary(nasty, fc.oneof(nasty, fc.array(nasty, { maxLength: 2 }))), (record) => {
        fc.pre(Object.keys(record).length > 0);
        expectSafe(details(record), Object.keys(record).length);
      }),
    );
  });

  it('json: the exact values, with nothing a terminal acts on but its own line breaks', () => {
    fc.assert(
      fc.property(fc.dictionary(nasty, fc.oneof(nasty, fc.array(nasty, { maxLength: 2 }))), (record) => {
        const text = json(record);
        expect(text).not.toMatch(actsBesidesNewline);
        expect(JSON.parse(text)).toEqual(record);
      }),
    );
  });

  it('redrive --dry-run says its peeks add to the receive counts', async () => {
    const dlq = fakeDeadLetterQueue([deadLetter(['m1', 'evt_1', 'cooledge', 'job.completed'])]);
    stack.target = fakeTarget(new FakeEventsTable(), dlq);
    const result = await cli(['redrive', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^m1 +cooledge +job\.completed +evt_1 +1 /m);
    expect(result.stdout).toContain(
      `dry run: 1 message(s) in ${fakeQueueUrl}-dlq; 1 would move to ${fakeQueueUrl}\n`,
    );
    expect(result.stdout).toContain(`${peekNote}\n`);
    expect(dlq.messages[0]).toMatchObject({ visible: true, receives: 1 });
    expect((await cli(['redrive', '--help'])).stdout).toContain('adds 1 to its receive count');
  });

  it('redrive --json gives each receive count as a number; the table heads its times SENT (UTC)', async () => {
    const messages = [
      deadLetter(['m1', 'evt_1', 'cooledge', 'job.completed']),
      deadLetter(['m2', 'evt_2', 'zenbooker', 'job.started']),
    ];
    messages[1] = {
      ...messages[1],
      Attributes: { ...messages[1]?.Attributes, ApproximateReceiveCount: '7' },
    };
    stack.target = fakeTarget(new FakeEventsTable(), fakeDeadLetterQueue(messages));
    const out = JSON.parse((await cli(['redrive', '--dry-run', '--json'])).stdout);
    expect(out.listed.map((m: { receives: unknown }) => m.receives)).toEqual([1, 8]);
    stack.target = fakeTarget(new FakeEventsTable(), fakeDeadLetterQueue(messages));
    const moved = JSON.parse((await cli(['redrive', '--json'])).stdout);
    expect(moved.messages.map((m: { receives: unknown }) => m.receives)).toEqual([1, 8]);
    stack.target = fakeTarget(new FakeEventsTable(), fakeDeadLetterQueue(messages));
    const text = (await cli(['redrive', '--dry-run'])).stdout;
    expect(text).toMatch(/^MESSAGE +PROVIDER +TYPE +EVENT KEY +RECEIVES +SENT \(UTC\)$/m);
    expect(text).toMatch(/ 2026-06-17 12:00:00$/m);
  });
});
