import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { providers } from '#providers/index';
import { eventLayout, showText } from '../../cli/events.ts';
import { details, visible } from '../../cli/format.ts';
import { getEventRecords, type Item, isConflictRecord, outcomes } from '../../cli/store.ts';
import type { Target } from '../../cli/target.ts';
import { cli, FakeEventsTable, fakeTarget } from './fake-stack.ts';

const stack = vi.hoisted(() => ({ target: undefined as Target | undefined }));
vi.mock('../../cli/target.ts', () => ({ resolveTarget: () => stack.target }));

const fp = (c: string) => c.repeat(64);

/** One event key with a kept record and two conflicts, next to records that must not show with it. */
const records: Item[] = [
  {
    pk: 'cooledge#evt_1',
    provider: 'cooledge',
    eventKey: 'evt_1',
    eventType: 'job.completed',
    outcome: 'applied',
    receivedAt: '2026-06-17T12:00:00.000Z',
    processedAt: '2026-06-17T12:00:01.000Z',
    rawBody: '{"id":"evt_1","n":1}',
    headers: { 'content-type': 'application/json' },
    fingerprint: fp('a'),
    conflicts: new Set([fp('c'), fp('b')]),
  },
  {
    pk: `cooledge#evt_1#conflict#${fp('c')}`,
    provider: 'cooledge',
    eventKey: 'evt_1',
    eventType: 'job.completed',
    outcome: 'conflict',
    receivedAt: '2026-06-17T12:09:00.000Z',
    processedAt: '2026-06-17T12:09:01.000Z',
    rawBody: '{"id":"evt_1","n":3}',
    headers: { 'content-type': 'application/json' },
    fingerprint: fp('c'),
    conflictsWith: fp('a'),
  },
  {
    // Received before the kept record (SQS does not keep order), processed after it.
    pk: `cooledge#evt_1#conflict#${fp('b')}`,
    provider: 'cooledge',
    eventKey: 'evt_1',
    eventType: 'job.completed',
    outcome: 'conflict',
    receivedAt: '2026-06-17T11:59:00.000Z',
    processedAt: '2026-06-17T12:00:02.000Z',
    rawBody: '{"id":"evt_1","n":2}',
    headers: { 'content-type': 'application/json' },
    fingerprint: fp('b'),
    conflictsWith: fp('a'),
  },
  {
    pk: 'cooledge#evt_2',
    provider: 'cooledge',
    eventKey: 'evt_2',
    eventType: 'job.completed',
    outcome: 'applied',
    receivedAt: '2026-06-17T12:01:00.000Z',
    rawBody: '{"id":"evt_2"}',
    conflicts: new Set([fp('d')]),
  },
  {
    pk: `cooledge#evt_2#conflict#${fp('d')}`,
    provider: 'cooledge',
    eventKey: 'evt_2',
    eventType: 'job.completed',
    outcome: 'conflict',
    receivedAt: '2026-06-17T12:02:00.000Z',
    rawBody: '{"id":"evt_2","x":1}',
    fingerprint: fp('d'),
    conflictsWith: fp('e'),
  },
  {
    pk: 'cooledge#evt_u',
    provider: 'cooledge',
    eventKey: 'evt_u',
    eventType: 'job.completed',
    outcome: 'unprocessable',
    receivedAt: '2026-06-17T12:03:00.000Z',
    reason: 'ValidationException: One or more parameter values were invalid\n\u001b[2J\u009b31m\u202efake',
    rawBody: '{"id":"evt_u"}',
  },
];

let table: FakeEventsTable;
beforeEach(() => {
  table = new FakeEventsTable(records);
  stack.target = fakeTarget(table);
});

describe('cli events: the conflict and unprocessable outcomes', () => {
  it('accepts both as --outcome and lists only those records', async () => {
    expect(outcomes).toEqual(expect.arrayContaining(['conflict', 'unprocessable']));
    const conflicts = await cli(['events', '--outcome', 'conflict', '--json']);
    expect(conflicts.code).toBe(0);
    expect((JSON.parse(conflicts.stdout) as Item[]).map((e) => e.pk)).toEqual([
      `cooledge#evt_1#conflict#${fp('c')}`,
      `cooledge#evt_2#conflict#${fp('d')}`,
      `cooledge#evt_1#conflict#${fp('b')}`,
    ]);
    const unprocessable = await cli(['events', '--outcome', 'unprocessable']);
    expect(unprocessable.code).toBe(0);
    expect(unprocessable.stdout).toMatch(/unprocessable\s+evt_u/);
    expect(unprocessable.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('shows the kept record first, then the conflicting records of its key, oldest first', async () => {
    const result = await cli(['events', 'show', 'evt_1', '--provider', 'cooledge']);
    expect(result.code).toBe(0);
    const out = result.stdout;
    const at = (text: string | RegExp) => {
      const index = typeof text === 'string' ? out.indexOf(text) : out.search(text);
      expect(index, String(text)).toBeGreaterThanOrEqual(0);
      return index;
    };
    const kept = at(/^pk +cooledge#evt_1$/m);
    const heading = at('2 conflicting record(s) of cooledge evt_1');
    const older = at(`cooledge#evt_1#conflict#${fp('b')}`);
    const newer = at(`cooledge#evt_1#conflict#${fp('c')}`);
    expect(kept).toBeLessThan(heading);
    expect(heading).toBeLessThan(older);
    expect(older).toBeLessThan(newer);
    expect(out).toMatch(new RegExp(`^conflictsWith  ${fp('a')}$`, 'm'));
    expect(out).not.toContain('evt_2');
    expect(out).not.toContain('rawBody');
    // Read by key only: the kept record, then the conflicts it lists; never a scan or a query.
    expect(table.calls).toEqual(['GetCommand', 'BatchGetCommand']);
  });

  it('prints the kept record’s list of conflicts as a list, in text and in JSON', async () => {
    const text = (await cli(['events', 'show', 'evt_1'])).stdout;
    expect(text).toMatch(new RegExp(`^conflicts +\\["${fp('b')}","${fp('c')}"\\]$`, 'm'));
    const [kept] = JSON.parse((await cli(['events', 'show', 'evt_1', '--json'])).stdout) as Item[];
    expect(kept?.conflicts).toEqual([fp('b'), fp('c')]);
  });

  it('--json: the kept record, then its conflicts; bodies only with --body', async () => {
    const plain = JSON.parse((await cli(['events', 'show', 'evt_1', '--json'])).stdout) as Item[];
    expect(plain.map((e) => [e.outcome, e.fingerprint])).toEqual([
      ['applied', fp('a')],
      ['conflict', fp('b')],
      ['conflict', fp('c')],
    ]);
    expect(plain.some((e) => 'rawBody' in e)).toBe(false);
    const withBody = JSON.parse(
      (await cli(['events', 'show', 'evt_1', '--json', '--body'])).stdout,
    ) as Item[];
    expect(withBody.map((e) => e.rawBody)).toEqual([
      '{"id":"evt_1","n":1}',
      '{"id":"evt_1","n":2}',
      '{"id":"evt_1","n":3}',
    ]);
    // A key without conflicts is still one object, as before.
    const single = JSON.parse((await cli(['events', 'show', 'evt_u', '--json'])).stdout) as Item;
    expect(single.outcome).toBe('unprocessable');
  });

  it('shows the conflicts of a key whose kept record is gone', async () => {
    table.items.delete('cooledge#evt_1');
    const result = await cli(['events', 'show', 'evt_1']);
    // Without the kept record's list, the provider's index is the only place left to look.
    expect(table.calls).toContain('QueryCommand');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^no kept record of cooledge evt_1 \(expired or removed\)/);
    expect(result.stdout).toContain('2 conflicting record(s) of cooledge evt_1');
  });

  it('still says when there is no such event', async () => {
    const result = await cli(['events', 'show', 'evt_none']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no event "evt_none" in the fake stack');
  });

  it('prints an unprocessable record’s reason on one line with its controls escaped', async () => {
    const result = await cli(['events', 'show', 'evt_u']);
    expect(result.code).toBe(0);
    const line = result.stdout.split('\n').find((l) => l.startsWith('reason'));
    expect(line?.replace(/^reason +/, '')).toBe(
      'ValidationException: One or more parameter values were invalid' +
        '\\u{a}\\u{1b}[2J\\u{9b}31m\\u{202e}fake',
    );
    for (const raw of ['\u001b', '\u009b', '\u202e']) expect(result.stdout).not.toContain(raw);
  });

  it('finds a key’s conflicts by the fingerprints its kept record lists, without reading the index', async () => {
    table.items.set('zenbooker#evt_1', {
      ...(records[0] as Item),
      pk: 'zenbooker#evt_1',
      provider: 'zenbooker',
    });
    const found = await getEventRecords(stack.target as Target, 'evt_1', ['cooledge', 'zenbooker']);
    expect(found.map((r) => [r.provider, r.kept?.pk, r.conflicts.map((c) => c.pk)])).toEqual([
      [
        'cooledge',
        'cooledge#evt_1',
        [`cooledge#evt_1#conflict#${fp('b')}`, `cooledge#evt_1#conflict#${fp('c')}`],
      ],
      ['zenbooker', 'zenbooker#evt_1', []],
    ]);
    // Read in full: the body and headers the index does not carry.
    expect(found[0]?.conflicts[0]?.headers).toEqual({ 'content-type': 'application/json' });
    expect(table.calls).not.toContain('QueryCommand');
  });
});

describe('cli format: visible', () => {
  it('escapes C0, DEL, C1, line separators and bidi controls as \\u{…}', () => {
    expect(visible('a\nb\tc\r\u0000\u001b[31m\u007f\u0085\u009b\u2028\u2029')).toBe(
      'a\\u{a}b\\u{9}c\\u{d}\\u{0}\\u{1b}[31m\\u{7f}\\u{85}\\u{9b}\\u{2028}\\u{2029}',
    );
    expect(visible('\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c')).toBe(
      '\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{200e}\\u{200f}\\u{61c}',
    );
  });

  it('keeps printable text, other scripts, emoji and backslashes as they are', () => {
    const text = 'ValidationException: naïve Ünïcödé 名前 שלום 🚀 C:\\path "quoted" \u00a0';
    expect(visible(text)).toBe(text);
  });

  it('prints a value that is not a string as JSON, escaped too', () => {
    expect(visible(42)).toBe('42');
    expect(visible({ a: '\u202e' })).toBe('{"a":"\\u{202e}"}');
    expect(visible(undefined)).toBe('undefined');
  });

  it('leaves nothing a terminal would act on, and changes nothing else', () => {
    const acts = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const shown = visible(text);
        expect(shown).not.toMatch(acts);
        if (!acts.test(text)) expect(shown).toBe(text);
        const unescaped = shown.replace(/\\u\{([0-9a-f]+)\}/g, (_, hex: string) =>
          String.fromCodePoint(Number.parseInt(hex, 16)),
        );
        if (!/\\u\{[0-9a-f]+\}/.test(text)) expect(unescaped).toBe(text);
      }),
    );
  });

  it('details escapes every name and value, nested ones included, one line per attribute', () => {
    const record = {
      eventKey: 'k\n',
      reason: 'r\n',
      fingerprint: 'f\u202e',
      entityIds: { job_id: 'j\u009b2J' },
      'a\u001b': 1,
    };
    // In the event layout's order, the unlisted name last.
    expect(details(record, eventLayout).split('\n')).toEqual([
      'eventKey     k\\u{a}',
      'entityIds    {"job_id":"j\\u{9b}2J"}',
      'reason       r\\u{a}',
      'fingerprint  f\\u{202e}',
      'a\\u{1b}      1',
      '',
    ]);
  });

  it('showText escapes the event key in its own lines', () => {
    const text = showText([
      { provider: 'cooledge', eventKey: 'k\u001b[2J', kept: undefined, conflicts: [{ outcome: 'conflict' }] },
    ]);
    expect(text).toContain('no kept record of cooledge k\\u{1b}[2J');
    expect(text).toContain('1 conflicting record(s) of cooledge k\\u{1b}[2J');
  });
});

describe('cli store: isConflictRecord', () => {
  it('tells a conflict by its outcome or its item key, never a key’s own record', () => {
    expect(isConflictRecord({ outcome: 'conflict' })).toBe(true);
    expect(
      isConflictRecord({
        pk: `cooledge#k#conflict#${fp('a')}`,
        provider: 'cooledge',
        eventKey: 'k',
        outcome: 'applied',
      }),
    ).toBe(true);
    expect(
      isConflictRecord({ pk: 'cooledge#k', provider: 'cooledge', eventKey: 'k', outcome: 'applied' }),
    ).toBe(false);
    // An event key that itself contains the marker is still that key's own record.
    expect(
      isConflictRecord({
        pk: 'cooledge#k#conflict#x',
        provider: 'cooledge',
        eventKey: 'k#conflict#x',
        outcome: 'applied',
      }),
    ).toBe(false);
    expect(isConflictRecord({ provider: 'cooledge', eventKey: 'k', outcome: 'unprocessable' })).toBe(false);
  });
});

describe('cli events show: the start of an event key', () => {
  const zenbooker = (eventKey: string, receivedAt: string, extra: Item = {}): Item => ({
    pk: `zenbooker#${eventKey}`,
    provider: 'zenbooker',
    eventKey,
    eventType: 'job.started',
    outcome: 'applied',
    receivedAt,
    rawBody: `{"id":"${eventKey}"}`,
    ...extra,
  });
  const long = '1781604223917x530184412857261400:job.started:2026-06-17T12:00:00Z';

  beforeEach(() => {
    table.items.set(`zenbooker#${long}`, zenbooker(long, '2026-06-17T12:10:00.000Z'));
    table.items.set(
      'zenbooker#1781604299999x1:job.completed',
      zenbooker('1781604299999x1:job.completed', '2026-06-17T12:11:00.000Z'),
    );
    table.items.set(
      'zenbooker#1781604299999x2:job.completed',
      zenbooker('1781604299999x2:job.completed', '2026-06-17T12:12:00.000Z'),
    );
  });

  it('shows the one event whose key starts with it, as `events` cuts it', async () => {
    const listed = await cli(['events', '--provider', 'zenbooker']);
    // The list cuts the key; what it printed, ellipsis and all, finds the event.
    const shown = /\b(1781604223917x\S+…)/.exec(listed.stdout)?.[1] as string;
    expect(shown.length).toBeLessThan(long.length);
    for (const start of [shown, '1781604223917x530', long.slice(0, 14)]) {
      const result = await cli(['events', 'show', start]);
      expect(result.stderr, start).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^eventKey +${long.replace(/[.]/g, '\\.')}$`, 'm'));
    }
    const asJson = JSON.parse((await cli(['events', 'show', '1781604223917x530', '--json'])).stdout) as Item;
    expect(asJson.eventKey).toBe(long);
  });

  it('reads a whole key by GetItem only, and a start by one Scan (the index holds only records needing attention)', async () => {
    await cli(['events', 'show', long, '--provider', 'zenbooker']);
    expect(table.calls).toEqual(['GetCommand']);
    table.calls.length = 0;
    await cli(['events', 'show', '1781604223917x530', '--provider', 'zenbooker']);
    // The miss, one scan (which would also find conflicts of the very key), the match.
    expect(table.calls).toEqual(['GetCommand', 'ScanCommand', 'GetCommand']);
  });

  it('an exact key wins over the longer keys it starts', async () => {
    table.items.set('zenbooker#1781604299999x', zenbooker('1781604299999x', '2026-06-17T12:13:00.000Z'));
    const result = await cli(['events', 'show', '1781604299999x']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^eventKey +1781604299999x$/m);
  });

  it('lists the keys an ambiguous start matches, newest first, and exits 1', async () => {
    const result = await cli(['events', 'show', '1781604299999x']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'error: 2 event keys start with "1781604299999x": give more of the key, or --provider',
    );
    expect(lines[1]).toMatch(/^PROVIDER +EVENT KEY +RECEIVED \(UTC\) +OUTCOME$/);
    // Whole keys, to copy.
    expect(lines[2]).toMatch(/^zenbooker +1781604299999x2:job\.completed +2026-06-17 12:12:00 +applied$/);
    expect(lines[3]).toMatch(/^zenbooker +1781604299999x1:job\.completed +2026-06-17 12:11:00 +applied$/);
    expect(lines).toHaveLength(4);
    expect((await cli(['events', '--help'])).stdout).toContain('exits 1');
  });

  it('counts a key with conflicts once, and shows its kept record and conflicts', async () => {
    const key = 'evt_conflicted';
    table.items.set(`cooledge#${key}`, {
      ...(records[0] as Item),
      pk: `cooledge#${key}`,
      eventKey: key,
      conflicts: new Set([fp('b')]),
    });
    table.items.set(`cooledge#${key}#conflict#${fp('b')}`, {
      ...(records[2] as Item),
      pk: `cooledge#${key}#conflict#${fp('b')}`,
      eventKey: key,
    });
    const result = await cli(['events', 'show', 'evt_conf']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^pk +cooledge#${key}$`, 'm'));
    expect(result.stdout).toContain(`1 conflicting record(s) of cooledge ${key}`);
  });

  it('says when nothing starts with it, and when it is too short to look for', async () => {
    const none = await cli(['events', 'show', '99999999']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'error: no event "99999999" in the fake stack, and no event key starts with it\n',
    );
    table.calls.length = 0;
    const short = await cli(['events', 'show', '1781604']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain(
      'no event "1781604" in the fake stack (to find an event by the start of its key, give at least 8 characters)',
    );
    // Too short to search by: per provider the key's record, and its conflicts should it be gone.
    expect(table.calls.sort()).toEqual([
      ...Array.from({ length: providers.size }, () => 'GetCommand'),
      ...Array.from({ length: providers.size }, () => 'QueryCommand'),
    ]);
  });
});
