import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { QueueMessage } from '#core/message';
import { notReplayable, replayMessage, type Skipped, skippedLines } from '../../cli/replay.ts';
import type { Item } from '../../cli/store.ts';
import type { Target } from '../../cli/target.ts';
import { cli, FakeEventsTable, type FakeQueue, fakeQueue, fakeQueueUrl, fakeTarget } from './fake-stack.ts';

const stack = vi.hoisted(() => ({ target: undefined as Target | undefined }));
vi.mock('../../cli/target.ts', () => ({ resolveTarget: () => stack.target }));

const fp = (c: string) => c.repeat(64);
const headers = { 'content-type': 'application/json' };

const records: Item[] = [
  {
    pk: 'cooledge#evt_1',
    provider: 'cooledge',
    eventKey: 'evt_1',
    eventType: 'job.completed',
    outcome: 'applied',
    receivedAt: '2026-06-17T12:00:00.000Z',
    rawBody: '{"id":"evt_1","kept":true}',
    headers,
    fingerprint: fp('a'),
  },
  {
    pk: `cooledge#evt_1#conflict#${fp('b')}`,
    provider: 'cooledge',
    eventKey: 'evt_1',
    eventType: 'job.completed',
    outcome: 'conflict',
    receivedAt: '2026-06-17T12:01:00.000Z',
    rawBody: '{"id":"evt_1","kept":false}',
    headers,
    fingerprint: fp('b'),
    conflictsWith: fp('a'),
  },
  {
    pk: 'cooledge#evt_u1',
    provider: 'cooledge',
    eventKey: 'evt_u1',
    eventType: 'job.completed',
    outcome: 'unprocessable',
    receivedAt: '2026-06-17T12:02:00.000Z',
    reason: 'ValidationException: One or more parameter values were invalid',
    rawBody: '{"id":"evt_u1"}',
    headers,
  },
  {
    pk: 'cooledge#evt_u2',
    provider: 'cooledge',
    eventKey: 'evt_u2',
    eventType: 'job.completed',
    outcome: 'unprocessable',
    receivedAt: '2026-06-17T12:03:00.000Z',
    reason: 'ValidationException: Item size has exceeded the maximum allowed size',
    bodySha256: fp('f'),
    headers,
  },
  {
    pk: 'zenbooker#evt_u3',
    provider: 'zenbooker',
    eventKey: 'evt_u3',
    eventType: 'job.started',
    outcome: 'unprocessable',
    receivedAt: '2026-06-17T12:04:00.000Z',
    reason: 'mapping: entityIds.job_id is not a string',
    rawBody: '{"id":"evt_u3"}',
  },
];

let table: FakeEventsTable;
let queue: FakeQueue;
beforeEach(() => {
  table = new FakeEventsTable(records);
  queue = fakeQueue();
  stack.target = fakeTarget(table, queue);
});

const sentBodies = () =>
  queue.sent.map((m) => {
    const message = JSON.parse(m.MessageBody) as QueueMessage;
    return Buffer.from(message.bodyBase64, 'base64').toString('utf8');
  });

describe('cli replay: unprocessable records', () => {
  it('replays those with a stored body and names each one it skips', async () => {
    const result = await cli(['replay', '--outcome', 'unprocessable']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sentBodies()).toEqual(['{"id":"evt_u1"}', '{"id":"evt_u3"}']);
    expect(queue.sent.every((m) => m.QueueUrl === fakeQueueUrl)).toBe(true);
    expect(result.stdout).toContain(
      'skipped cooledge evt_u2 (unprocessable): its body could not be stored (only its SHA-256 was), so it cannot be replayed\n',
    );
    expect(result.stdout).toContain(`replayed 2 event(s) to ${fakeQueueUrl} (1 skipped, see above)`);
  });

  it('--json counts and lists what it skipped', async () => {
    const result = await cli(['replay', '--outcome', 'unprocessable', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      replayed: 2,
      skipped: 1,
      queueUrl: fakeQueueUrl,
      skippedEvents: [
        {
          provider: 'cooledge',
          eventKey: 'evt_u2',
          outcome: 'unprocessable',
          why: 'its body could not be stored (only its SHA-256 was), so it cannot be replayed',
        },
      ],
    });
  });

  it('--dry-run lists what would be sent, names what would not, and sends nothing', async () => {
    const result = await cli(['replay', '--outcome', 'unprocessable', '--dry-run']);
    expect(result.code).toBe(0);
    expect(queue.sent).toEqual([]);
    expect(result.stdout).toMatch(/evt_u1/);
    expect(result.stdout).toMatch(/evt_u3/);
    expect(result.stdout).toContain('skipped cooledge evt_u2 (unprocessable)');
    expect(result.stdout).toContain('dry run: 2 event(s) would be replayed');
    expect(result.stdout).toContain('(1 skipped, see above); nothing was sent');
    const asJson = JSON.parse(
      (await cli(['replay', '--outcome', 'unprocessable', '--dry-run', '--json'])).stdout,
    );
    expect(asJson.events.map((e: Item) => e.eventKey)).toEqual(['evt_u1', 'evt_u3']);
    expect(asJson.events.some((e: Item) => 'rawBody' in e)).toBe(false);
    expect(asJson.skippedEvents.map((e: Item) => e.eventKey)).toEqual(['evt_u2']);
  });

  it('replays one by --key with its exact body and original receive time', async () => {
    const result = await cli(['replay', '--key', 'evt_u1', '--json']);
    expect(JSON.parse(result.stdout)).toMatchObject({ replayed: 1, skipped: 0 });
    const message = JSON.parse(queue.sent[0]?.MessageBody as string) as QueueMessage;
    expect(message).toMatchObject({
      provider: 'cooledge',
      eventKey: 'evt_u1',
      receivedAt: '2026-06-17T12:02:00.000Z',
      replay: true,
      headers,
    });
  });
});

describe('cli replay: conflict records are never replayed', () => {
  it('refuses --outcome conflict before reading anything', async () => {
    const result = await cli(['replay', '--outcome', 'conflict']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: conflict records are never replayed');
    expect(result.stderr).toContain('events show <event key>');
    expect(table.calls).toEqual([]);
    expect(queue.sent).toEqual([]);
  });

  it('skips them under a broad filter, replaying the kept record once and never the other body', async () => {
    const result = await cli(['replay', '--all', '--provider', 'cooledge']);
    expect(result.code).toBe(0);
    expect(sentBodies()).toEqual(['{"id":"evt_1","kept":true}', '{"id":"evt_u1"}']);
    expect(result.stdout).toContain('skipped 1 conflict record(s): a second body under a known event key');
    expect(result.stdout).toContain('replayed 2 event(s)');
    expect(result.stdout).toContain('(2 skipped, see above)');
    // The conflict's body was never even read.
    expect(table.calls.filter((c) => c === 'GetCommand')).toHaveLength(3);
  });

  it('--key replays the key’s own record only', async () => {
    const result = await cli(['replay', '--key', 'evt_1', '--json']);
    expect(JSON.parse(result.stdout)).toMatchObject({ replayed: 1, skipped: 0 });
    expect(sentBodies()).toEqual(['{"id":"evt_1","kept":true}']);
  });
});

describe('cli replay: which records can be replayed', () => {
  const [kept, conflict, withBody, withoutBody] = records as [Item, Item, Item, Item];

  it('rebuilds a message from a record with a body, an unprocessable one included', () => {
    expect(notReplayable(withBody)).toBeUndefined();
    expect(replayMessage(withBody)).toEqual({
      v: 1,
      provider: 'cooledge',
      eventKey: 'evt_u1',
      eventType: 'job.completed',
      receivedAt: '2026-06-17T12:02:00.000Z',
      bodyBase64: Buffer.from('{"id":"evt_u1"}').toString('base64'),
      headers,
      replay: true,
    });
    expect(replayMessage(kept)?.eventKey).toBe('evt_1');
  });

  it('says why not for a conflict, a record without a body, and one without a receive time', () => {
    expect(replayMessage(conflict)).toBeUndefined();
    expect(notReplayable(conflict)).toMatch(/^a conflict/);
    // Told by its item key even if a listing lacks the outcome.
    expect(notReplayable({ ...conflict, outcome: undefined })).toMatch(/^a conflict/);
    expect(replayMessage(withoutBody)).toBeUndefined();
    expect(notReplayable(withoutBody)).toBe(
      'its body could not be stored (only its SHA-256 was), so it cannot be replayed',
    );
    expect(notReplayable({ ...withoutBody, bodySha256: undefined })).toBe(
      'no stored body, so it cannot be replayed',
    );
    expect(notReplayable({ ...withBody, receivedAt: undefined })).toBe(
      'no receive time, so it cannot be replayed',
    );
  });

  it('names at most 20 skipped records, escaped, and counts the rest', () => {
    const skipped: Skipped[] = Array.from({ length: 23 }, (_, i) => ({
      provider: 'cooledge',
      eventKey: i === 0 ? 'k\u001b[2J' : `k${i}`,
      outcome: 'unprocessable',
      why: 'no stored body, so it cannot be replayed',
    }));
    const lines = skippedLines(skipped).trimEnd().split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe(
      'skipped cooledge k\\u{1b}[2J (unprocessable): no stored body, so it cannot be replayed',
    );
    expect(lines[20]).toBe('… and 3 more skipped');
    expect(skippedLines([])).toBe('');
  });
});

describe('cli replay: keys that are not there', () => {
  it('--key <unknown> --dry-run says so and exits 1', async () => {
    const result = await cli(['replay', '--key', 'evt_nope', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: no event "evt_nope" in the fake stack; nothing was replayed/);
    expect((await cli(['replay', '--key', 'evt_nope', '--dry-run', '--json'])).code).toBe(1);
  });

  it('sends nothing when any of the keys is unknown, and names each unknown one', async () => {
    const result = await cli(['replay', '--key', 'evt_u1', '--key', 'evt_x', '--key', 'evt_y']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no event "evt_x", "evt_y" in the fake stack');
    expect(queue.sent).toEqual([]);
  });

  it('a key of another provider is not there for --provider', async () => {
    const result = await cli(['replay', '--key', 'evt_u3', '--provider', 'cooledge', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no event "evt_u3" in the fake stack for cooledge');
  });
});

describe('cli replay: where to see the outcomes', () => {
  it('after --key, `events show` for the key (a replay keeps its receive time: --since misses it)', async () => {
    const result = await cli(['replay', '--key', 'evt_u1', '--data-dir', '/tmp/my stack']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('--since 5m');
    expect(result.stdout).toContain('a replay keeps its original receive time');
    expect(result.stdout).toContain("  npm run cli -- events show evt_u1 --data-dir '/tmp/my stack'\n");
  });

  it('after a filter, the events replayed since just before it, on the same stack', async () => {
    const before = Date.now();
    const result = await cli([
      'replay',
      '--outcome',
      'unprocessable',
      '--provider',
      'cooledge',
      '--stage',
      'prod',
    ]);
    expect(result.code).toBe(0);
    const since = /events --replayed-since (\S+) --provider cooledge --stage prod\n/.exec(result.stdout)?.[1];
    expect(since, result.stdout).toBeDefined();
    // Before the sends, to the second: every replay of this run is at or after it.
    expect(Date.parse(since as string)).toBeGreaterThan(before - 1000);
    expect(Date.parse(since as string)).toBeLessThanOrEqual(Date.now());
  });

  it('events --replayed-since lists the replayed events, whatever their receive time', async () => {
    table.items.set('cooledge#evt_u1', {
      ...(records[2] as Item),
      outcome: 'applied',
      replayedAt: '2026-06-18T09:00:00.000Z',
    });
    const result = await cli(['events', '--replayed-since', '2026-06-18T08:59:00Z']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^2026-06-17 12:02:00 +cooledge +job\.completed +applied \(replayed\) +evt_u1/);
    const none = await cli(['events', '--replayed-since', '2026-06-18T09:01:00Z']);
    expect(none.stdout).toMatch(/^no events match/);
  });
});
