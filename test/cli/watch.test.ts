import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobStreamRecord } from '#adapters/job-stream-records';
import { jobChange } from '#core/job-changes';
import type { Item } from '#core/records';
import { providers } from '#providers/index';
import type { Io } from '../../cli/commands.ts';
import { quote } from '../../cli/format.ts';
import type { Target } from '../../cli/target.ts';
import {
  detailTypes,
  matches,
  type WatchFilters,
  watchFilters,
  watchLine,
  watchStream,
} from '../../cli/watch.ts';
import { type JobEvent, JobEventForwarder, jobEvent, localOrigin } from '../../local/job-publisher.ts';
import { acts, actsBesidesNewline, nasty } from './hostile.ts';
import { cli } from './run-cli.ts';

/**
 * `cli watch`: its line for a person (every value a provider sent escaped, one line per change),
 * its exact `--json`, its filters, what it makes of a stream (one event per change, in order), its
 * forward, its argument errors, and the whole command in process over a stream the test feeds.
 */

const stack = vi.hoisted(() => ({
  target: undefined as Target | undefined,
  batches: [] as JobStreamRecord[][],
  streamArn:
    'arn:aws:dynamodb:eu-west-1:123456789012:table/field-webhooks-prod-jobs/stream/2026-06-17T00:00:00.000',
}));
vi.mock('../../cli/target.ts', () => ({ resolveTarget: () => stack.target }));
vi.mock('../../local/job-stream.ts', () => ({
  jobStreamArn: async () => stack.streamArn,
  // The records the test gives, then the end (as when Ctrl-C stops the reading).
  readJobStream: async function* (options: { onReady?: () => void }) {
    options.onReady?.();
    for (const batch of stack.batches) yield batch;
  },
}));

// ---------------------------------------------------------------------------------------------
// Job items and stream records, as the consumer writes and the stream carries them
// ---------------------------------------------------------------------------------------------

/** A job item after `eventCount` applied events. */
function jobItem(eventCount: number, overrides: Item = {}): Item {
  return {
    pk: 'cooledge#job-1',
    provider: 'cooledge',
    jobId: 'job-1',
    accountId: 'acct-1',
    status: 'scheduled',
    customerName: 'Priya Nair',
    lastEventKey: `evt-${eventCount}`,
    lastEventType: 'job.completed',
    lastEventAt: '2026-06-17T14:00:00.000Z',
    eventCount,
    createdAt: '2026-06-17T14:38:55.904Z',
    updatedAt: `2026-06-17T14:38:5${eventCount % 10}.120Z`,
    ...overrides,
  };
}

let sequenceNumber = 100;
const nextSequence = () => {
  sequenceNumber += 1;
  return String(sequenceNumber);
};
const image = (item: Item) => marshall(item, { removeUndefinedValues: true });
const keys = (item: Item) => marshall({ pk: item.pk });
const insert = (after: Item): JobStreamRecord => ({
  eventName: 'INSERT',
  dynamodb: { Keys: keys(after), NewImage: image(after), SequenceNumber: nextSequence() },
});
const modify = (before: Item, after: Item): JobStreamRecord => ({
  eventName: 'MODIFY',
  dynamodb: {
    Keys: keys(after),
    OldImage: image(before),
    NewImage: image(after),
    SequenceNumber: nextSequence(),
  },
});

/** The event `watch` makes of a record, by its own rules (`jobChange`). */
const eventOf = (before: Item | undefined, after: Item): JobEvent =>
  jobEvent(jobChange(before, after) as NonNullable<ReturnType<typeof jobChange>>, localOrigin);

function io(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    interactive: false,
    env: {},
    stdout: () => out,
    stderr: () => err,
  };
}

async function* batches(...list: JobStreamRecord[][]) {
  for (const batch of list) yield batch;
}

const none: WatchFilters = { providers: [], accounts: [], statuses: [], types: [] };

// ---------------------------------------------------------------------------------------------

describe('watch: a line per change', () => {
  const created = jobItem(1);
  const renamed = jobItem(2, { customerName: 'P. Nair' });
  const completed = jobItem(3, { customerName: 'P. Nair', status: 'completed' });

  it('time (UTC), provider, job id, #sequence, detail-type, status before → after, changed fields', () => {
    expect(watchLine(eventOf(undefined, created))).toBe(
      '2026-06-17 14:38:51.120 UTC  cooledge  job-1  #1  Job Created  (new) → scheduled  changed: customerName, status\n',
    );
    expect(watchLine(eventOf(created, renamed))).toBe(
      '2026-06-17 14:38:52.120 UTC  cooledge  job-1  #2  Job Updated  scheduled → scheduled  changed: customerName\n',
    );
    expect(watchLine(eventOf(renamed, completed))).toBe(
      '2026-06-17 14:38:53.120 UTC  cooledge  job-1  #3  Job Status Changed  scheduled → completed  changed: status\n',
    );
    // A stale event that filled fields the job lacked: the event type, after `late:`.
    const filled = {
      ...completed,
      completedAt: '2026-06-17T14:30:00.000Z',
      fillCount: 1,
      lastFillKey: 'evt-late',
      lastFillType: 'job.completed',
      lastFillAt: '2026-06-17T14:30:00.000Z',
      updatedAt: '2026-06-17T14:38:54.120Z',
    };
    expect(watchLine(eventOf(completed, filled))).toBe(
      '2026-06-17 14:38:54.120 UTC  cooledge  job-1  #4  Job Updated  completed → completed  changed: completedAt  late: job.completed\n',
    );
    // An event type with spaces cannot pass for another column.
    expect(watchLine(eventOf(completed, { ...filled, lastFillType: 'job done  #9' }))).toMatch(
      / {2}late: "job done {2}#9"\n$/,
    );
  });

  it('says (none) for no status and no changed field, and quotes a value with spaces', () => {
    const bare = jobItem(1, { status: undefined, customerName: undefined, jobId: 'job 1' });
    expect(watchLine(eventOf(undefined, bare))).toBe(
      '2026-06-17 14:38:51.120 UTC  cooledge  "job 1"  #1  Job Created  (new) → (none)  changed: (none)\n',
    );
    const again = jobItem(2, { status: undefined, customerName: undefined, jobId: 'job 1' });
    expect(watchLine(eventOf(bare, again))).toContain('#2  Job Updated  (none) → (none)  changed: (none)\n');
    // A status that holds an arrow cannot pass for the transition.
    const arrow = jobItem(2, { status: 'a → b' });
    expect(watchLine(eventOf(created, arrow))).toContain('scheduled → "a → b"  changed: status\n');
  });

  it('escapes whatever a provider sent: one line, nothing a terminal acts on; --json is exact (property)', () => {
    fc.assert(
      fc.property(fc.array(nasty, { minLength: 6, maxLength: 6 }), (v) => {
        const before = jobItem(1, { status: v[0], jobId: v[1], pk: `cooledge#${v[1]}` });
        const after = jobItem(2, {
          status: v[2],
          jobId: v[1],
          pk: `cooledge#${v[1]}`,
          accountId: v[3],
          customerName: v[4],
          provider: v[5],
        });
        const event = eventOf(before, after);
        const line = watchLine(event);
        expect(line).not.toMatch(actsBesidesNewline);
        expect(line.split('\n')).toHaveLength(2);
        // The id whole: as it is when it is a plain word, else quoted and escaped.
        const id = v[1] as string;
        expect([id, quote(id)].some((form) => line.includes(`  ${form}  #2  `))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('prints the events of a stream of hostile jobs safely, text and --json alike (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nasty, { minLength: 5, maxLength: 5 }), fc.boolean(), async (v, json) => {
        const first = jobItem(1, { jobId: v[0], status: v[1], customerName: v[2], accountId: v[3] });
        const second = jobItem(2, { jobId: v[0], status: v[4], customerName: v[2], accountId: v[3] });
        const out = io();
        const shown = await watchStream({
          batches: batches([insert(first), modify(first, second)]),
          origin: localOrigin,
          filters: none,
          json,
          io: out,
        });
        expect(shown).toBe(2);
        expect(out.stderr()).toBe('');
        const lines = out.stdout().split('\n');
        expect(lines).toHaveLength(3);
        expect(out.stdout()).not.toMatch(actsBesidesNewline);
        if (json) {
          // Each line: nothing a terminal acts on at all, and the exact event back.
          for (const line of lines.slice(0, 2)) expect(line).not.toMatch(acts);
          expect(lines.slice(0, 2).map((line) => JSON.parse(line))).toEqual([
            eventOf(undefined, first),
            eventOf(first, second),
          ]);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('watch: what a stream shows', () => {
  it('one event per change, in stream order, a stale fill included; nothing for an uncounted fill or a removal', async () => {
    const a1 = jobItem(1);
    const a2 = jobItem(2, { status: 'in_progress' });
    // A stale event filled an empty field: a change of its own.
    const a2filled = {
      ...a2,
      customerPhone: '+61498765432',
      fillCount: 1,
      lastFillKey: 'evt-late',
      lastFillType: 'job.updated',
      lastFillAt: '2026-06-17T14:00:00.000Z',
      updatedAt: '2026-06-17T14:39:00.000Z',
    };
    // A fill by a version that did not count fills: the job's revision did not move.
    const a2refilled = { ...a2filled, customerEmail: 'p@example.com' };
    const b1 = jobItem(1, { pk: 'zenbooker#job-2', provider: 'zenbooker', jobId: 'job-2' });
    const out = io();
    const shown = await watchStream({
      batches: batches(
        [insert(a1), insert(b1)],
        [modify(a1, a2), modify(a2, a2filled), modify(a2filled, a2refilled)],
        [{ eventName: 'REMOVE', dynamodb: { Keys: keys(b1), OldImage: image(b1) } }],
      ),
      origin: localOrigin,
      filters: none,
      json: true,
      io: out,
    });
    expect(shown).toBe(4);
    const events = out
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobEvent);
    expect(events.map((e) => [e.detail.jobId, e.detail.sequence, e['detail-type']])).toEqual([
      ['job-1', 1, 'Job Created'],
      ['job-2', 1, 'Job Created'],
      ['job-1', 2, 'Job Status Changed'],
      ['job-1', 3, 'Job Updated'],
    ]);
    expect(events[3]?.detail).toMatchObject({
      changedFields: ['customerPhone'],
      cause: { eventKey: 'evt-late', eventType: 'job.updated', outcome: 'stale' },
    });
    expect(events[2]).toMatchObject({
      version: '0',
      source: 'field-webhooks',
      account: '000000000000',
      region: 'us-east-1',
      resources: [],
      time: '2026-06-17T14:38:52Z',
      detail: { previousStatus: 'scheduled', status: 'in_progress', changedFields: ['status'] },
    });
  });

  it('names a record it cannot read on stderr, without its values, and shows the others', async () => {
    const broken = jobItem(1, { pk: 'cooledge#x', eventCount: 'secret-value' });
    const fine = jobItem(1);
    const out = io();
    const shown = await watchStream({
      batches: batches([insert(broken), insert(fine)]),
      origin: localOrigin,
      filters: none,
      json: false,
      io: out,
    });
    expect(shown).toBe(1);
    expect(out.stderr()).toMatch(
      /^warning: stream record 1 of 2 \(sequence number \d+\): .*eventCount.*: not shown\n$/,
    );
    expect(out.stderr()).not.toContain('secret-value');
    expect(out.stdout()).toContain('  job-1  #1  Job Created');
  });
});

describe('watch: filters', () => {
  const event = (overrides: Item) => eventOf(undefined, jobItem(1, overrides));

  it('reads --provider, --account, --status and --type, each repeatable; --type by its words', () => {
    expect(
      watchFilters({
        provider: ['cooledge', 'zenbooker'],
        account: ['a'],
        status: ['completed', 'canceled'],
        type: ['job-status-changed', 'Job Created', 'JOBUPDATED'],
      }),
    ).toEqual({
      providers: ['cooledge', 'zenbooker'],
      accounts: ['a'],
      statuses: ['completed', 'canceled'],
      types: ['Job Status Changed', 'Job Created', 'Job Updated'],
    });
    expect(watchFilters({})).toEqual(none);
  });

  it('passes an event when every filter given has its value, exactly (property)', () => {
    const names = [...providers.keys()];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.constantFrom('acct-1', 'acct-2'),
        fc.constantFrom('scheduled', 'completed', 'Completed', undefined),
        fc.record({
          providers: fc.subarray(names),
          accounts: fc.subarray(['acct-1', 'acct-2']),
          statuses: fc.subarray(['scheduled', 'completed']),
          types: fc.subarray([...detailTypes]),
        }),
        (provider, accountId, status, filters) => {
          const e = event({ provider, accountId, status });
          const ok = (list: readonly string[], value: string | undefined) =>
            list.length === 0 || (value !== undefined && list.includes(value));
          expect(matches(e, filters)).toBe(
            ok(filters.providers, provider) &&
              ok(filters.accounts, accountId) &&
              ok(filters.statuses, status) &&
              ok(filters.types, 'Job Created'),
          );
        },
      ),
    );
  });

  it('shows and forwards only the matching events', async () => {
    const out = io();
    const a = jobItem(1, { status: 'completed' });
    const b = jobItem(1, { pk: 'cooledge#job-2', jobId: 'job-2' });
    const shown = await watchStream({
      batches: batches([insert(a), insert(b)]),
      origin: localOrigin,
      filters: { ...none, statuses: ['completed'] },
      json: false,
      io: out,
    });
    expect(shown).toBe(1);
    expect(out.stdout()).toContain('  job-1  #1  Job Created  (new) → completed');
    expect(out.stdout()).not.toContain('job-2');
  });
});

describe('watch: --forward', () => {
  let server: Server;
  let url: string;
  const received: Array<{ path: string; type: string; body: string }> = [];
  let failFirst = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        if (failFirst > 0) {
          failFirst -= 1;
          response.statusCode = 503;
          response.end();
          return;
        }
        if (request.url?.startsWith('/moved')) {
          response.statusCode = 302;
          response.setHeader('location', '/landing?key=k');
          response.end();
          return;
        }
        received.push({ path: request.url ?? '', type: request.headers['content-type'] ?? '', body });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('POSTs each event shown as JSON, in order, retrying a 503', async () => {
    received.length = 0;
    failFirst = 2;
    const first = jobItem(1);
    const second = jobItem(2, { status: 'completed' });
    const out = io();
    const forwarder = new JobEventForwarder(`${url}/jobs?key=k`, () => {}, { backoffMs: 1 });
    await watchStream({
      batches: batches([insert(first)], [modify(first, second)]),
      origin: localOrigin,
      filters: none,
      json: true,
      forwarder,
      io: out,
    });
    await forwarder.idle();
    expect(forwarder.forwarded).toBe(2);
    expect(received.map((r) => r.path)).toEqual(['/jobs?key=k', '/jobs?key=k']);
    expect(received.every((r) => r.type === 'application/json')).toBe(true);
    expect(received.map((r) => JSON.parse(r.body))).toEqual(
      out
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    );
  });

  it('does not follow a redirect: the event is not forwarded, and says so with the status', async () => {
    received.length = 0;
    failFirst = 0;
    const failures: string[] = [];
    const forwarder = new JobEventForwarder(
      `${url}/moved?key=k`,
      (event, result) => failures.push(`${event.detail.changeId} ${result.reason} ${result.attempts}`),
      { backoffMs: 1 },
    );
    await watchStream({
      batches: batches([insert(jobItem(1))]),
      origin: localOrigin,
      filters: none,
      json: true,
      forwarder,
      io: io(),
    });
    await forwarder.idle();
    // Followed, the 302 would have been a GET of /landing without the event, counted as forwarded.
    expect(received).toEqual([]);
    expect([forwarder.forwarded, forwarder.dropped]).toEqual([0, 1]);
    expect(failures).toEqual([`cooledge#job-1#1 HTTP 302 redirect to ${url} 1`]);
  });
});

describe('watch: the command', () => {
  const target = (kind: Target['kind']): Target =>
    ({
      kind,
      description: kind === 'local' ? 'the local stack' : 'AWS stage prod',
      doc: {
        config: {
          region: async () => 'eu-west-1',
          credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
        },
      },
      jobsTable: () => 'field-webhooks-prod-jobs',
      close: () => {},
    }) as unknown as Target;

  it('prints each event of a deployed stage with its account and region, says when it reads, exits 0', async () => {
    stack.target = target('aws');
    const first = jobItem(1);
    stack.batches = [[insert(first)], [modify(first, jobItem(2, { status: 'completed' }))]];
    const result = await cli(['watch', '--stage', 'prod', '--json']);
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobEvent);
    expect(events.map((e) => [e.account, e.region, e.detail.sequence])).toEqual([
      ['123456789012', 'eu-west-1', 1],
      ['123456789012', 'eu-west-1', 2],
    ]);
    expect(result.stderr).toBe(
      'watching job changes of field-webhooks-prod-jobs on AWS stage prod, from now on (Ctrl-C stops)\n' +
        'stopped: 2 job changes shown\n',
    );
  });

  it('filters the local stack as asked; the text goes through the CLI escaped', async () => {
    stack.target = target('local');
    stack.batches = [
      [
        insert(jobItem(1, { jobId: 'evil\u001b[2J', pk: 'cooledge#evil' })),
        insert(jobItem(1, { provider: 'zenbooker' })),
      ],
    ];
    const result = await cli(['watch', '--provider', 'cooledge']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      '2026-06-17 14:38:51.120 UTC  cooledge  "evil\\u{1b}[2J"  #1  Job Created  (new) → scheduled  changed: customerName, status\n',
    );
  });

  it.each([
    [
      ['watch', '--type', 'Job Deleted'],
      '--type must be a detail-type: "Job Created", "Job Status Changed", "Job Updated" (got "Job Deleted")',
    ],
    [
      ['watch', '--provider', 'acme'],
      `--provider must be one of ${[...providers.keys()].join(', ')} (got "acme")`,
    ],
    [
      ['watch', '--forward', 'ftp://example.com/x'],
      '--forward must be an http:// or https:// URL (got "ftp://example.com/x")',
    ],
    [
      ['watch', '--forward', 'http://user:pw@example.com/'],
      '--forward must not hold a user name or password',
    ],
    [['watch', '--since', '1h'], 'unknown option --since'],
    [['watch', 'now'], 'watch takes no arguments (got "now")'],
    [['watch', '--status'], '--status needs a value'],
  ])('%j exits 2: %s', async (argv, message) => {
    stack.target = target('local');
    stack.batches = [];
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toContain(`error: ${message}`);
  });
});
