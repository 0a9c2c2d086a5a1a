import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobChange } from '#core/job-changes';
import { hasTerminalActive } from '#core/text';
import {
  forwardJobEvent,
  type JobEvent,
  JobEventFile,
  JobEventForwarder,
  jobEvent,
  jobEventId,
  jobEventJson,
  localOrigin,
  streamOrigin,
} from '../../local/job-publisher.ts';
import { freePort } from '../e2e/support.ts';

/**
 * The local publisher's parts that need no emulator: the event envelope, its id, its JSON line,
 * the event file and its cap, and forwarding with retries, in order. `npm start` publishing from
 * DynamoDB Local's stream is test/e2e/job-events.test.ts.
 */

function change(sequence: number, overrides: Partial<JobChange['detail']> = {}): JobChange {
  const changedAt = `2026-06-17T14:38:5${sequence % 10}.904Z`;
  return {
    detailType: sequence === 1 ? 'Job Created' : 'Job Updated',
    time: changedAt,
    detail: {
      version: 1,
      changeId: `cooledge#job-1#${sequence}`,
      sequence,
      provider: 'cooledge',
      accountId: 'acct-1',
      jobId: 'job-1',
      status: 'scheduled',
      previousStatus: sequence === 1 ? null : 'scheduled',
      changedFields: ['status'],
      job: { status: 'scheduled' },
      cause: {
        eventKey: `evt-${sequence}`,
        eventType: 'job.completed',
        eventAt: changedAt,
        outcome: 'applied',
      },
      changedAt,
      createdAt: '2026-06-17T14:38:51.904Z',
      ...overrides,
    },
  };
}

const event = (sequence: number) => jobEvent(change(sequence), localOrigin);

describe('the event: EventBridge envelope', () => {
  it('wraps the change as the bus delivers it: time to the second, the local account and region', () => {
    expect(event(2)).toEqual({
      version: '0',
      id: jobEventId('cooledge#job-1#2'),
      'detail-type': 'Job Updated',
      source: 'field-webhooks',
      account: '000000000000',
      time: '2026-06-17T14:38:52Z',
      region: 'us-east-1',
      resources: [],
      detail: change(2).detail,
    });
  });

  it('has an id named by the change: a version 5 UUID, the same for the same change only (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(jobEventId(a)).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(jobEventId(a)).toBe(jobEventId(a));
        if (a !== b) expect(jobEventId(a)).not.toBe(jobEventId(b));
      }),
    );
  });

  it('takes a deployed stream’s account and region from its ARN', () => {
    expect(
      streamOrigin(
        'arn:aws:dynamodb:eu-west-1:123456789012:table/field-webhooks-prod-jobs/stream/2026-06-17T00:00:00.000',
      ),
    ).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(streamOrigin('not an arn')).toBeUndefined();
  });

  it('is one line of JSON with the exact values and nothing a terminal acts on (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', '\n', '\u001b', '\u0085', '\u202e', '\u2028', '\u007f', '"', '\\'),
        }),
        (text) => {
          const hostile = jobEvent(
            change(1, { jobId: text, status: text, job: { customerName: text } }),
            localOrigin,
          );
          const line = jobEventJson(hostile);
          expect(line).not.toContain('\n');
          expect(hasTerminalActive(line)).toBe(false);
          expect(JSON.parse(line)).toEqual(hostile);
        },
      ),
    );
  });
});

describe('the event file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'field-webhooks-job-events-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one event a line, readable by its owner only', async () => {
    const path = join(dir, 'a.jsonl');
    const file = new JobEventFile(path);
    await file.append([event(1), event(2)]);
    await file.append([]);
    await file.append([event(3)]);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as JobEvent)).toEqual([event(1), event(2), event(3)]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('starts a new file once it would pass its cap, keeping the one before as .1', async () => {
    const path = join(dir, 'b.jsonl');
    const size = Buffer.byteLength(`${jobEventJson(event(2))}\n`);
    const file = new JobEventFile(path, size * 2);
    for (const n of [1, 2, 3, 4, 5]) await file.append([event(n)]);
    const read = (p: string) =>
      readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as JobEvent).detail.sequence);
    expect(read(`${path}.1`)).toEqual([3, 4]);
    expect(read(path)).toEqual([5]);
    // A new writer on the same file counts what is there.
    await new JobEventFile(path, size * 2).append([event(6), event(7)]);
    expect(read(`${path}.1`)).toEqual([5]);
    expect(read(path)).toEqual([6, 7]);
  });
});

describe('forwarding', () => {
  let server: Server;
  let url: string;
  /** What the server answers next, by path: statuses in turn, `hang` never answers; then 200. */
  const plans = new Map<string, Array<number | 'hang'>>();
  /** The `Location` the server answers with, by path. */
  const locations = new Map<string, string>();
  const received: Array<{ path: string; method: string; body: string }> = [];
  const hanging: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        const path = request.url ?? '';
        const next = plans.get(path)?.shift() ?? 200;
        if (next === 'hang') {
          hanging.push(response);
          return;
        }
        if (next === 200) received.push({ path, method: request.method ?? '', body });
        const location = locations.get(path);
        if (location !== undefined) response.setHeader('location', location);
        response.statusCode = next;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const response of hanging) response.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const fast = { backoffMs: 1, timeoutMs: 300 };

  it('POSTs the event as JSON and retries a network failure, a timeout, 408, 429 and 5xx', async () => {
    plans.set('/retry', [503, 429, 408]);
    expect(await forwardJobEvent(`${url}/retry`, event(1), fast)).toEqual({
      ok: true,
      attempts: 4,
      status: 200,
    });
    expect(received.filter((r) => r.path === '/retry').map((r) => JSON.parse(r.body))).toEqual([event(1)]);

    plans.set('/down', [500, 500, 500, 500]);
    expect(await forwardJobEvent(`${url}/down`, event(1), fast)).toEqual({
      ok: false,
      attempts: 4,
      reason: 'HTTP 500',
    });
    plans.set('/slow', ['hang']);
    expect(await forwardJobEvent(`${url}/slow`, event(1), { ...fast, attempts: 2 })).toEqual({
      ok: true,
      attempts: 2,
      status: 200,
    });
    plans.set('/slower', ['hang', 'hang']);
    expect(await forwardJobEvent(`${url}/slower`, event(1), { ...fast, attempts: 2 })).toEqual({
      ok: false,
      attempts: 2,
      reason: 'timeout after 300 ms',
    });
    const closed = await freePort();
    expect(await forwardJobEvent(`http://127.0.0.1:${closed}/x`, event(1), fast)).toEqual({
      ok: false,
      attempts: 4,
      reason: 'ECONNREFUSED',
    });
  });

  it('does not retry another answer: it would not change', async () => {
    plans.set('/bad', [400]);
    expect(await forwardJobEvent(`${url}/bad`, event(1), fast)).toEqual({
      ok: false,
      attempts: 1,
      reason: 'HTTP 400',
    });
  });

  it('does not follow a redirect: a failure, not retried, naming the status and the Location’s origin only', async () => {
    // Followed, a 302 would turn the POST into a GET without the event, answered 200 here.
    plans.set('/moved', [302]);
    locations.set('/moved', '/landing?token=secret');
    expect(await forwardJobEvent(`${url}/moved`, event(1), fast)).toEqual({
      ok: false,
      attempts: 1,
      reason: `HTTP 302 redirect to ${url}`,
    });
    plans.set('/gone', [301]);
    locations.set('/gone', 'https://elsewhere.example:8443/hooks/abc?key=secret');
    plans.set('/unnamed', [307]);
    const failures: string[] = [];
    const forwarder = new JobEventForwarder(
      `${url}/gone`,
      (e, result) => failures.push(`${e.detail.sequence} ${result.reason} (${result.attempts})`),
      fast,
    );
    forwarder.push(event(1));
    await forwarder.idle();
    expect(failures).toEqual(['1 HTTP 301 redirect to https://elsewhere.example:8443 (1)']);
    expect([forwarder.forwarded, forwarder.dropped]).toEqual([0, 1]);
    expect(await forwardJobEvent(`${url}/unnamed`, event(1), fast)).toEqual({
      ok: false,
      attempts: 1,
      reason: 'HTTP 307 redirect without a Location',
    });
    expect(received.filter((r) => r.path.startsWith('/landing'))).toEqual([]);
  });

  it('forwards in the order pushed, a failure between them reported and dropped', async () => {
    plans.set('/ordered', [503, 200, 400]);
    const failures: string[] = [];
    const forwarder = new JobEventForwarder(
      `${url}/ordered`,
      (e, result) => failures.push(`${e.detail.sequence} ${result.reason}`),
      fast,
    );
    for (const n of [1, 2, 3, 4]) forwarder.push(event(n));
    await forwarder.idle();
    // 1: 503 then 200; 2: 400, final; 3 and 4: 200.
    expect(
      received.filter((r) => r.path === '/ordered').map((r) => JSON.parse(r.body).detail.sequence),
    ).toEqual([1, 3, 4]);
    expect(failures).toEqual(['2 HTTP 400']);
    expect([forwarder.forwarded, forwarder.dropped]).toEqual([3, 1]);
  });

  it('drops what is pushed beyond its queue, and on stop what still waits, counting both', async () => {
    plans.set('/stuck', ['hang', 'hang', 'hang', 'hang']);
    const failures: string[] = [];
    const forwarder = new JobEventForwarder(
      `${url}/stuck`,
      (e, result) => failures.push(`${e.detail.sequence} ${result.reason}`),
      { ...fast, timeoutMs: 10_000, maxPending: 2 },
    );
    for (const n of [1, 2, 3]) forwarder.push(event(n));
    expect(failures).toEqual(['3 too many events waiting']);
    const started = Date.now();
    expect(await forwarder.stop(50)).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect([forwarder.forwarded, forwarder.dropped]).toEqual([0, 3]);
    forwarder.push(event(4));
    expect(await forwarder.stop(0)).toBe(0);
  });
});
