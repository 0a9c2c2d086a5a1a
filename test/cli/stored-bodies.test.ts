import { describe, expect, it, vi } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import { defined, eventAttributes } from '#core/records';
import type { Target } from '../../cli/target.ts';
import { eventRecord } from '../support/factories.ts';
import { cli, FakeEventsTable, fakeTarget } from './fake-stack.ts';

const stack = vi.hoisted(() => ({ target: undefined as Target | undefined }));
vi.mock('../../cli/target.ts', () => ({ resolveTarget: () => stack.target }));

/** A body carrying what a terminal would act on: the CLI must print it escaped. */
const body = '{"event_id":"evt-new","customer_name":"Priya\u001b[2J Nair","note":"é"}';

/** An event-log record exactly as the consumer now writes it (compressed body, no `provider`). */
function stored(eventKey: string, outcome: string, rawBody = body) {
  const event = eventRecord({
    eventKey,
    rawBody,
    fingerprint: 'fp',
    headers: { 'user-agent': 'Cooledge/1' },
    receivedAt: '2026-06-17T14:00:01.000Z',
  });
  return defined(eventAttributes(event, outcome));
}

const job = (jobId: string, lastEventKey: string) => ({
  pk: jobPk('cooledge', jobId),
  provider: 'cooledge',
  jobId,
  status: 'completed',
  lastEventKey,
  updatedAt: '2026-06-17T14:00:02.000Z',
});

function use(table: FakeEventsTable) {
  stack.target = fakeTarget(table);
  return table;
}

describe('cli: bodies as the event log keeps them (compressed), and jobs that keep none', () => {
  it('jobs show --payload reads the latest body from the event log, escaped for a person, exact in JSON', async () => {
    use(new FakeEventsTable([stored('evt-new', 'applied')], [job('job-1', 'evt-new')]));
    const shown = await cli(['jobs', 'show', 'job-1', '--provider', 'cooledge', '--payload']);
    expect(shown.code).toBe(0);
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toMatch(/^payload +\{"event_id":"evt-new"/m);
    expect(shown.stdout).toContain('Priya\\u{1b}[2J Nair');
    expect(shown.stdout).not.toContain('\u001b');
    const asJson = JSON.parse(
      (await cli(['jobs', 'show', 'job-1', '--provider', 'cooledge', '--payload', '--json'])).stdout,
    );
    expect(asJson.payload).toBe(body);
    expect(JSON.parse((await cli(['jobs', '--json', '--payload'])).stdout)[0].payload).toBe(body);
  });

  it('says when the latest event has expired, and still prints the job', async () => {
    use(new FakeEventsTable([], [job('job-1', 'evt-gone')]));
    const shown = await cli(['jobs', 'show', 'job-1', '--provider', 'cooledge', '--payload']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^jobId +job-1$/m);
    expect(shown.stdout).not.toMatch(/^payload/m);
    expect(shown.stderr).toMatch(/1 job\(s\) without a payload: .*expired/);
  });

  it('shows a first-version job its own payload', async () => {
    use(new FakeEventsTable([], [{ ...job('job-1', 'evt-gone'), payload: '{"old":true}' }]));
    const asJson = JSON.parse(
      (await cli(['jobs', 'show', 'job-1', '--provider', 'cooledge', '--payload', '--json'])).stdout,
    );
    expect(asJson.payload).toBe('{"old":true}');
  });

  it('events show --body decompresses the body; events lists records that are not in the index', async () => {
    const table = use(new FakeEventsTable([stored('evt-new', 'applied'), stored('evt-bad', 'quarantined')]));
    const shown = await cli(['events', 'show', 'evt-new', '--provider', 'cooledge', '--body']);
    expect(shown.stdout).toMatch(/^rawBody +\{"event_id":"evt-new"/m);
    expect(shown.stdout).toContain('Priya\\u{1b}[2J Nair');
    expect(shown.stdout).not.toContain('\u001b');
    expect(shown.stdout).toMatch(/^provider +cooledge$/m);
    expect(shown.stdout).not.toMatch(/bodyBrotli/);
    const asJson = JSON.parse(
      (await cli(['events', 'show', 'evt-new', '--provider', 'cooledge', '--body', '--json'])).stdout,
    );
    expect(asJson).toMatchObject({ provider: 'cooledge', rawBody: body });

    table.calls.length = 0;
    const listed = JSON.parse((await cli(['events', '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(listed.map((e) => [e.eventKey, e.provider, e.outcome])).toEqual([
      ['evt-new', 'cooledge', 'applied'],
      ['evt-bad', 'cooledge', 'quarantined'],
    ]);
    expect(table.calls).toEqual(['ScanCommand']);

    // The outcomes that need attention are read from the index.
    table.calls.length = 0;
    const quarantined = JSON.parse((await cli(['events', '--outcome', 'quarantined', '--json'])).stdout);
    expect(quarantined.map((e: { pk: string }) => e.pk)).toEqual([eventPk('cooledge', 'evt-bad')]);
    expect(table.calls.every((call) => call === 'QueryCommand')).toBe(true);
  });

  it('events --limit over a scan keeps only the newest, whatever the order the scan returns', async () => {
    const times = Array.from({ length: 2_500 }, (_, i) => i);
    // A shuffled table: the scan's order says nothing about receive times.
    for (let i = times.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [times[i], times[j]] = [times[j] as number, times[i] as number];
    }
    const at = (i: number) => new Date(Date.UTC(2026, 5, 17) + i * 1000).toISOString();
    use(new FakeEventsTable(times.map((i) => ({ ...stored(`evt-${i}`, 'applied'), receivedAt: at(i) }))));
    const listed = await cli(['events', '--limit', '3', '--json']);
    expect(JSON.parse(listed.stdout).map((e: { eventKey: string }) => e.eventKey)).toEqual([
      'evt-2499',
      'evt-2498',
      'evt-2497',
    ]);
  });
});
