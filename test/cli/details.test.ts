import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import { eventLayout, eventRows } from '../../cli/events.ts';
import {
  type DetailsLayout,
  details,
  epochSecondsTime,
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
  it('jobs show: identity, status, times, customer, the work, bookkeeping, then the rest alphabetically', async () => {
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
        'description      Split system service',
        'eventCount       2',
        `lastEventKey     ${eventKey}`,
        'lastEventType    job.completed',
        'lastEventAt      2026-06-17 14:30:00.000 UTC',
        'lastOrder        2026-06-17 14:30:00.000 UTC',
        `lastFingerprint  ${fingerprint}`,
        `pk               cooledge#${jobId}`,
        `accountKey       cooledge#${account}`,
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
          const width = Math.max(...names.map((n) => visible(n).length));
          const lines = details(record, layout).split('\n');
          expect(lines.pop()).toBe('');
          const printed = lines.map((line) => line.slice(0, width));
          // Exactly once each: the same names, as many times.
          expect([...printed].sort()).toEqual(names.map((n) => visible(n).padEnd(width)).sort());
          // The layout's names first, in its order; every other one after them, sorted.
          const listed = layout.order.filter((n) => Object.hasOwn(record, n));
          const rest = names.filter((n) => !layout.order.includes(n)).sort();
          expect(printed).toEqual([...listed, ...rest].map((n) => visible(n).padEnd(width)));
          for (const line of lines) expect(line.slice(width, width + 2)).toBe('  ');
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
