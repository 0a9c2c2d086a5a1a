import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import { eventLayout, eventRows } from '../../cli/events.ts';
import {
  type DetailsLayout,
  details,
  displayWidth,
  epochSecondsTime,
  padEndWidth,
  table,
  ttlNote,
  utcTime,
  visible,
} from '../../cli/format.ts';
import { jobLayout } from '../../cli/jobs.ts';
import type { Item } from '../../cli/store.ts';
import type { Target } from '../../cli/target.ts';
import { cli, FakeEventsTable, fakeTarget } from './fake-stack.ts';

const stack = vi.hoisted(() => ({ target: undefined as Target | undefined }));
vi.mock('../../cli/target.ts', () => ({ resolveTarget: () => stack.target }));

const jobId = '5c1a0e74-9d2b-4f0e-8a51-3e7c2b9d4f10';
const eventKey = '0b6f2a9e-4c1d-4f7a-9e3b-8d2c1a0f5e64';
const account = 'a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30';
const fingerprint = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A Cooledge job after its booking and completion, its attributes in no useful order (as DynamoDB returns them). */
const job: Item = {
  updatedAt: '2026-06-17T14:38:56.120Z',
  lastEventType: 'job.completed',
  customerPhone: '+61498765432',
  status: 'completed',
  eventCount: 2,
  accountKey: `cooledge#${account}`,
  payload: '{"event_type":"job.completed"}',
  jobId,
  customerName: 'Priya Nair',
  lastFingerprint: fingerprint,
  completedAt: '2026-06-17T14:30:00.000Z',
  provider: 'cooledge',
  createdAt: '2026-06-17T12:10:02.004Z',
  lastEventKey: eventKey,
  accountId: account,
  aLaterAttribute: 'x',
  jobNumber: '4821',
  description: 'Split system service',
  amountDue: 0,
  serviceName: 'Split system service',
  total: 240,
  amountPaid: 240,
  customerEmail: 'priya.nair@example.com',
  pk: jobPk('cooledge', jobId),
  lastEventAt: '2026-06-17T14:30:00.000Z',
  lastOrder: '2026-06-17T14:30:00.000Z',
  scheduledStart: '2026-06-17T12:10:00.000Z',
};

/** Its completion in the event log, expiring 30 days after it was received. */
const event: Item = {
  rawBody: '{"event_type":"job.completed"}',
  expiresAt: 1784299135,
  headers: { 'content-type': 'application/json' },
  pk: eventPk('cooledge', eventKey),
  receivedAt: '2026-06-17T14:38:55.904Z',
  outcome: 'applied',
  eventType: 'job.completed',
  processedAt: '2026-06-17T14:38:56.120Z',
  fingerprint,
  provider: 'cooledge',
  entityIds: { job_id: jobId },
  eventKey,
  occurredAt: '2026-06-17T14:30:00.000Z',
  accountId: account,
};

beforeEach(() => {
  stack.target = fakeTarget(new FakeEventsTable([event], [job]));
});

describe('cli jobs show / events show: attributes in a fixed order, times in UTC', () => {
  it('jobs show: identity, status, times, customer, bookkeeping, then the rest: the work and its invoice, then the others alphabetically', async () => {
    const result = await cli(['jobs', 'show', jobId, '--payload']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'provider         cooledge',
        `jobId            ${jobId}`,
        `accountId        ${account}`,
        'jobNumber        4821',
        'status           completed',
        'scheduledStart   2026-06-17 12:10:00.000 UTC',
        'completedAt      2026-06-17 14:30:00.000 UTC',
        'createdAt        2026-06-17 12:10:02.004 UTC',
        'updatedAt        2026-06-17 14:38:56.120 UTC',
        'customerName     Priya Nair',
        'customerEmail    priya.nair@example.com',
        'customerPhone    +61498765432',
        'eventCount       2',
        `lastEventKey     ${eventKey}`,
        'lastEventType    job.completed',
        'lastEventAt      2026-06-17 14:30:00.000 UTC',
        'lastOrder        2026-06-17 14:30:00.000 UTC',
        `lastFingerprint  ${fingerprint}`,
        `pk               cooledge#${jobId}`,
        `accountKey       cooledge#${account}`,
        'serviceName      Split system service',
        'description      Split system service',
        'total            240',
        'amountPaid       240',
        'amountDue        0',
        'aLaterAttribute  x',
        'payload          {"event_type":"job.completed"}',
        '',
      ].join('\n'),
    );
  });

  it('events show: identity, outcome, times, bookkeeping with expiresAt as the time the record expires', async () => {
    const result = await cli(['events', 'show', eventKey]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'provider     cooledge',
        `eventKey     ${eventKey}`,
        'eventType    job.completed',
        `accountId    ${account}`,
        `entityIds    {"job_id":"${jobId}"}`,
        'outcome      applied',
        'occurredAt   2026-06-17 14:30:00.000 UTC',
        'receivedAt   2026-06-17 14:38:55.904 UTC',
        'processedAt  2026-06-17 14:38:56.120 UTC',
        `fingerprint  ${fingerprint}`,
        'expiresAt    2026-07-17 14:38:55 UTC (TTL: the record expires then)',
        `pk           cooledge#${eventKey}`,
        'headers      {"content-type":"application/json"}',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the stored values: ISO times as stored, expiresAt in epoch seconds', async () => {
    expect(JSON.parse((await cli(['jobs', 'show', jobId, '--payload', '--json'])).stdout)).toEqual(job);
    expect(JSON.parse((await cli(['events', 'show', eventKey, '--body', '--json'])).stdout)).toEqual(event);
  });

  it('every attribute of any record appears exactly once: the layout’s names in its order, then the rest alphabetically', () => {
    const known = [...new Set([...jobLayout.order, ...eventLayout.order])];
    const name = fc.oneof(fc.constantFrom(...known), fc.string({ unit: 'binary', maxLength: 10 }));
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
    );
    const layouts: DetailsLayout[] = [jobLayout, eventLayout, { order: [] }];
    fc.assert(
      fc.property(
        fc.dictionary(name, value, { minKeys: 1 }),
        fc.constantFrom(...layouts),
        (record, layout) => {
          const names = Object.keys(record);
          // Names padded to the widest in terminal columns (a CJK or emoji name takes two a character).
          const width = Math.max(...names.map((n) => displayWidth(visible(n))));
          const lines = details(record, layout).split('\n');
          expect(lines.pop()).toBe('');
          // The layout's names first, in its order; every other one after them, sorted; each once.
          const listed = layout.order.filter((n) => Object.hasOwn(record, n));
          const rest = names.filter((n) => !layout.order.includes(n)).sort();
          const heads = [...listed, ...rest].map((n) => `${padEndWidth(visible(n), width)}  `);
          expect(lines).toHaveLength(heads.length);
          for (const [i, line] of lines.entries())
            expect(line.startsWith(heads[i] as string), line).toBe(true);
        },
      ),
    );
  });
});

describe('cli details: times', () => {
  it('utcTime labels an ISO 8601 UTC time, its digits kept; nothing else is a time', () => {
    expect(utcTime('2026-06-17T14:38:55.904Z')).toBe('2026-06-17 14:38:55.904 UTC');
    expect(utcTime('2026-06-17T14:38:55Z')).toBe('2026-06-17 14:38:55 UTC');
    for (const other of [
      '2026-06-17T14:38:55+10:00',
      '2026-13-01T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2026-06-17T24:00:00.000Z',
      '2026-06-17',
      ' 2026-06-17T14:38:55Z',
      '2026-06-17T14:38:55Z\u001b[2J',
      1781707135,
      undefined,
    ])
      expect(utcTime(other), String(other)).toBeUndefined();
  });

  it('epochSecondsTime: a TTL in whole seconds as a UTC time; anything else is not one', () => {
    expect(epochSecondsTime(1784299135)).toBe('2026-07-17 14:38:55 UTC');
    expect(epochSecondsTime(0)).toBe('1970-01-01 00:00:00 UTC');
    for (const other of [1784299135.5, '1784299135', 1e15, Number.NaN, null])
      expect(epochSecondsTime(other), String(other)).toBeUndefined();
  });

  it('a TTL that is not a time, or an attribute not the TTL, prints as stored; values stay escaped', () => {
    expect(details({ expiresAt: 'soon\u001b[2J' }, eventLayout)).toBe('expiresAt  soon\\u{1b}[2J\n');
    expect(details({ expiresAt: 1784299135 }, eventLayout)).toBe(
      `expiresAt  2026-07-17 14:38:55 UTC ${ttlNote}\n`,
    );
    // Only the layout's TTL attribute is read as seconds: the jobs table has none.
    expect(details({ expiresAt: 1784299135 }, jobLayout)).toBe('expiresAt  1784299135\n');
    expect(details({ note: '2026-06-17T14:38:55Z\u202e' })).toBe('note  2026-06-17T14:38:55Z\\u{202e}\n');
  });
});

describe('cli tables: times are UTC, and say so', () => {
  /** A table's cells by header: each column runs from its header's first character to the next's. */
  function cells(text: string): Array<Record<string, string>> {
    const [header, ...lines] = text.trimEnd().split('\n') as [string, ...string[]];
    const starts = [...header.matchAll(/(?:^|(?<= {2}))(\S+(?: \S+)*)/g)].map((m) => [
      m[1] as string,
      m.index,
    ]);
    return lines.map((line) =>
      Object.fromEntries(
        starts.map(([title, at], i) => [
          title,
          line.slice(at as number, starts[i + 1]?.[1] as number).trim(),
        ]),
      ),
    );
  }
  const time = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

  it('jobs and events: every column of times is headed `<TITLE> (UTC)`, in the same form', async () => {
    const tables = [(await cli(['jobs'])).stdout, (await cli(['events'])).stdout, eventRows([event])];
    for (const text of tables) {
      const rows = cells(text);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        for (const [title, value] of Object.entries(row)) {
          if (title.endsWith(' (UTC)')) expect(value, title).toMatch(time);
          else expect(value, title).not.toMatch(/^\d{4}-\d\d-\d\d/);
        }
      }
    }
    expect(Object.keys(cells((await cli(['jobs'])).stdout)[0] ?? {})).toEqual(
      expect.arrayContaining(['SCHEDULED (UTC)', 'COMPLETED (UTC)', 'UPDATED (UTC)']),
    );
    expect(Object.keys(cells(eventRows([event]))[0] ?? {})).toContain('RECEIVED (UTC)');
  });
});

describe('cli lists: "--limit shows more" only when more matched', () => {
  it('jobs and events print the note iff more than --limit match, never for exactly --limit (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 6 }), async (n, limit) => {
        const at = (i: number) => new Date(Date.UTC(2026, 5, 17, 12, 0, i)).toISOString();
        const jobs = Array.from({ length: n }, (_, i) => ({
          ...job,
          jobId: `job-${i}`,
          pk: jobPk('cooledge', `job-${i}`),
          updatedAt: at(i),
        }));
        const events = Array.from({ length: n }, (_, i) => ({
          ...event,
          eventKey: `evt-${i}`,
          pk: eventPk('cooledge', `evt-${i}`),
          receivedAt: at(i),
        }));
        stack.target = fakeTarget(new FakeEventsTable(events, jobs));
        for (const command of ['jobs', 'events']) {
          const result = await cli([command, '--limit', String(limit)]);
          expect(result.code).toBe(0);
          const note = `(first ${limit}; --limit shows more)\n`;
          expect(result.stdout.endsWith(note), `${command}: ${n} of limit ${limit}`).toBe(n > limit);
          if (n > 0)
            expect(result.stdout.split('\n').length - 2).toBe(Math.min(n, limit) + (n > limit ? 1 : 0));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('cli tables: a value starts at its header’s first column', () => {
  it('events: the ISSUES count sits under the start of its header, not at its right edge', () => {
    const rows = [
      { ...event, outcome: 'quarantined', issues: [{ path: 'job_id', message: 'missing' }] },
      { ...event, eventKey: 'evt_2', issues: undefined },
    ];
    const [header, ...lines] = eventRows(rows).trimEnd().split('\n') as [string, ...string[]];
    const at = header.indexOf('ISSUES');
    expect(at).toBeGreaterThan(0);
    expect(header.endsWith('ISSUES')).toBe(true);
    expect(lines[0]?.slice(at)).toBe('1');
    expect(lines[1]?.slice(at)).toBe('-');
  });

  it('jobs: the EVENTS count sits under the start of its header', async () => {
    const [header, line] = (await cli(['jobs'])).stdout.split('\n') as [string, string];
    const at = header.indexOf('EVENTS');
    expect(line.slice(at, at + 3)).toBe('2  ');
  });

  it('align right: values right-aligned among themselves, the block at the header’s first column', () => {
    const text = table(
      [3, 12, 7],
      [
        { title: 'QUANTITY', value: (n) => n, align: 'right' },
        { title: 'NEXT', value: () => 'x' },
      ],
    );
    expect(text).toBe(['QUANTITY  NEXT', ' 3        x', '12        x', ' 7        x', ''].join('\n'));
    // Values wider than the header: right-aligned to the column, as before.
    expect(table([123456, 7], [{ title: 'N', value: (n) => n, align: 'right' }])).toBe('N\n123456\n     7\n');
  });
});
