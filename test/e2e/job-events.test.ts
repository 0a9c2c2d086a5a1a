import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyProvider } from '#core/provider';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import type { JobEvent } from '../../local/job-publisher.ts';
import { cooledgeEvent } from '../support/factories.ts';
import { alive, eventually, freePort, root, Service } from './support.ts';

/**
 * Job change events on the local stack, the way a user meets them: `npm start` (as a child
 * process, with its own data folder and ports, publishing to a URL this test serves) and
 * `npm run cli -- watch --json --forward <url>` beside it. A Cooledge job's lifecycle goes in over
 * HTTP (created, updated, completed, then a duplicate and an older event that fills the schedule,
 * then an invoice); each change must come out exactly once, in sequence order, with the right detail-type and
 * statuses, alike in `watch`, in `<data dir>/job-events.jsonl`, in both forwards and in the
 * runner's log. A restart publishes nothing again, and the next change as the next sequence.
 */
describe('job change events: npm start publishes them, cli watch shows them', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'field-webhooks-job-events-'));
  const env = { LOCAL_DATA_DIR: dataDir };
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const eventsFile = join(dataDir, 'job-events.jsonl');
  const jobId = randomUUID();
  const business = randomUUID();
  /** Ten minutes ago: the lifecycle's events happen a minute apart from there. */
  const base = Date.now() - 600_000;
  const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();

  let hooks: Server;
  let hooksUrl: string;
  const forwarded: Array<{ path: string; type: string; event: JobEvent }> = [];
  let stack: Service;
  let watcher: Service;
  let watchOut = '';
  let url: string;
  let secret: string;
  let ports: Record<string, string>;

  const watched = () =>
    watchOut
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as JobEvent);
  const fileEvents = () =>
    existsSync(eventsFile)
      ? readFileSync(eventsFile, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as JobEvent)
      : [];
  const forwardedTo = (path: string) => forwarded.filter((f) => f.path === path).map((f) => f.event);

  async function post(body: Record<string, unknown>): Promise<number> {
    const text = JSON.stringify(body);
    const response = await fetch(`${url}/webhooks/cooledge`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-cooledge-signature': sign(text, secret, 'timestamped'),
      },
      body: text,
    });
    await response.body?.cancel();
    return response.status;
  }

  /** Posts, then waits until `watch` has shown `count` events. */
  async function apply(body: Record<string, unknown>, count: number): Promise<void> {
    expect(await post(body)).toBe(202);
    await eventually(
      async () => (watched().length >= count ? true : undefined),
      `${count} events watched`,
      15_000,
    );
  }

  async function startStack(): Promise<Service> {
    const service = new Service(tsx, ['local/start.ts', '--forward-job-events', `${hooksUrl}/runner?key=k`], {
      ...env,
      ...ports,
    });
    const ready = await service.waitFor(/^ready: serving (\S+)/m, 90_000);
    url = ready[1] as string;
    return service;
  }

  async function stop(service: Service): Promise<number | null> {
    service.signal('SIGINT');
    return Promise.race([
      service.exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit on SIGINT')), 30_000)),
    ]);
  }

  beforeAll(async () => {
    hooks = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        forwarded.push({
          path: request.url ?? '',
          type: request.headers['content-type'] ?? '',
          event: JSON.parse(body) as JobEvent,
        });
        response.end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    hooksUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    ports = {
      PORT: String(await freePort()),
      DYNAMODB_PORT: String(await freePort()),
      SQS_PORT: String(await freePort()),
    };
    stack = await startStack();
    const cooledge = providers.get('cooledge') as AnyProvider;
    secret = (
      new RegExp(`^ {2}${cooledge.title} +${cooledge.credentials.env.variable} +(\\S+)`, 'm').exec(
        stack.output,
      ) as RegExpExecArray
    )[1] as string;
    watcher = new Service(tsx, ['cli/index.ts', 'watch', '--json', '--forward', `${hooksUrl}/watch`], env);
    watcher.child.stdout?.on('data', (chunk: Buffer) => {
      watchOut += chunk.toString();
    });
    await watcher.waitFor(/^watching job changes of local-jobs/m, 30_000);
  });

  afterAll(async () => {
    const javaPid = existsSync(join(dataDir, 'dynamodb.pid'))
      ? Number(readFileSync(join(dataDir, 'dynamodb.pid'), 'utf8'))
      : undefined;
    for (const service of [watcher, stack]) {
      if (!service?.running()) continue;
      service.signal('SIGINT');
      await Promise.race([service.exit, new Promise((r) => setTimeout(r, 15_000))]);
      service.signal('SIGKILL');
    }
    if (javaPid && alive(javaPid)) process.kill(javaPid, 'SIGKILL');
    await new Promise<void>((resolve) => hooks.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const job = (type: string, minutes: number, fields: Record<string, unknown> = {}) =>
    cooledgeEvent(type, { job_id: jobId, business_id: business, occurred_at: at(minutes), ...fields });

  it('watch --json shows one event per change, in sequence order, a late fill included, and nothing for a duplicate', async () => {
    await apply(job('job.completed', 0, { status: 'scheduled', description: 'Booked.' }), 1);
    await apply(job('job.completed', 1, { status: 'scheduled', description: 'Crew assigned.' }), 2);
    const completed = job('job.completed', 2, { status: 'completed', description: 'Crew assigned.' });
    await apply(completed, 3);

    // The same delivery again (nothing), and an event older than the job's state that fills fields
    // the job lacks (its booking times): recorded stale, the fill is a change of its own.
    expect(await post(completed)).toBe(202);
    await stack.waitFor(/outcome=duplicate provider=cooledge/, 15_000);
    await apply(job('booking.created', 0.5), 4);
    await stack.waitFor(/outcome=stale provider=cooledge/, 15_000);
    await apply(job('invoice.paid', 3), 5);

    const events = watched();
    expect(
      events.map((e) => [e.detail.sequence, e['detail-type'], e.detail.previousStatus, e.detail.status]),
    ).toEqual([
      [1, 'Job Created', null, 'scheduled'],
      [2, 'Job Updated', 'scheduled', 'scheduled'],
      [3, 'Job Status Changed', 'scheduled', 'completed'],
      [4, 'Job Updated', 'completed', 'completed'],
      [5, 'Job Updated', 'completed', 'completed'],
    ]);
    expect(events.map((e) => e.detail.changedFields).slice(1)).toEqual([
      ['description'],
      ['status'],
      ['scheduledEnd', 'scheduledStart'],
      ['amountDue', 'amountPaid', 'total'],
    ]);
    expect(events.map((e) => e.detail.cause.outcome)).toEqual([
      'applied',
      'applied',
      'applied',
      'stale',
      'applied',
    ]);
    for (const [i, e] of events.entries()) {
      expect(e).toMatchObject({
        version: '0',
        source: 'field-webhooks',
        account: '000000000000',
        region: 'us-east-1',
        resources: [],
        time: `${e.detail.changedAt.slice(0, 19)}Z`,
        detail: {
          version: 1,
          changeId: `cooledge#${jobId}#${i + 1}`,
          provider: 'cooledge',
          accountId: business,
          jobId,
        },
      });
    }
    // Still nothing more, a moment later.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(watched()).toHaveLength(5);
  });

  it('npm start wrote the same events to <data dir>/job-events.jsonl and POSTed them to --forward-job-events', async () => {
    const events = watched();
    await eventually(async () => (fileEvents().length >= 5 ? true : undefined), 'the event file', 10_000);
    expect(fileEvents()).toEqual(events);
    await eventually(
      async () => (forwardedTo('/runner?key=k').length >= 5 ? true : undefined),
      'the forwards',
    );
    expect(forwardedTo('/runner?key=k')).toEqual(events);
    expect(forwarded.every((f) => f.type === 'application/json')).toBe(true);
    // And watch --forward, the same.
    await eventually(async () => (forwardedTo('/watch').length >= 5 ? true : undefined), "watch's forwards");
    expect(forwardedTo('/watch')).toEqual(events);
  });

  it('logs a line per change with ids and status, never a customer field', () => {
    const lines = stack.output.split('\n').filter((line) => / publish +info +job change /.test(line));
    expect(lines.map((line) => line.replace(/^\S+ /, ''))).toEqual(
      watched().map(
        (e) =>
          `publish info  job change provider=cooledge jobId=${jobId} sequence=${e.detail.sequence} detailType="${e['detail-type']}" status=${e.detail.status}`,
      ),
    );
    expect(stack.output).not.toContain('Priya');
  });

  it('Ctrl-C stops watch (exit 0) and npm start (exit 0), with what each published', async () => {
    expect(await stop(watcher)).toBe(0);
    expect(watcher.output).toMatch(/^stopped: 5 job changes shown, 5 forwarded$/m);
    expect(await stop(stack)).toBe(0);
    expect(stack.output).toMatch(
      /^stopped \(.*; job events: published=5 \(one per change to a job\) forwarded=5\)$/m,
    );
  });

  it('a restart publishes nothing again, and the next change as the job’s next sequence', async () => {
    const before = forwardedTo('/runner?key=k').length;
    stack = await startStack();
    expect(await post(job('job.completed', 4, { status: 'completed', description: 'Signed off.' }))).toBe(
      202,
    );
    await eventually(
      async () => (fileEvents().length >= 6 ? true : undefined),
      'the sixth event in the file',
      15_000,
    );
    const events = fileEvents();
    expect(events.map((e) => e.detail.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[5]).toMatchObject({
      'detail-type': 'Job Updated',
      detail: { changedFields: ['description'] },
    });
    await eventually(
      async () => (forwardedTo('/runner?key=k').length > before ? true : undefined),
      'the forward',
    );
    expect(forwardedTo('/runner?key=k').slice(before)).toEqual([events[5]]);
    expect(await stop(stack)).toBe(0);
  });
});
