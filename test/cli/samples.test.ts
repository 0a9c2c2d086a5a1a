import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '#core/json';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { rate, time } from '../../cli/args.ts';
import { type Provider, plan, sampleTypes } from '../../cli/samples.ts';
import { baseUrl } from '../../cli/send.ts';
import { writeStackFile } from '../../local/config.ts';
import { resourceNames } from '../../local/names.ts';
import { seeded } from '../../tools/stats.ts';

const bodyOf = (text: string) => JSON.parse(text) as JsonObject;

/** Every string in a body that reads as an ISO time, with the path it sits at. */
function timesIn(value: unknown, path = ''): Array<[string, number]> {
  if (typeof value === 'string') return /^\d{4}-\d\d-\d\dT/.test(value) ? [[path, Date.parse(value)]] : [];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => timesIn(child, path ? `${path}.${key}` : key));
}

describe('cli samples: a consistent story, all in the past', () => {
  const now = new Date('2026-06-20T12:00:00.000Z');
  const at = (body: JsonObject, path: string) => timesIn(body).find(([p]) => p === path)?.[1] ?? Number.NaN;

  it.each([1, 7, 40, 300])('dates nothing after the send in a run of %i events', (count) => {
    for (const delivery of plan({
      providers: ['cooledge', 'zenbooker'],
      count,
      duplicates: 0,
      outOfOrder: false,
      now,
      random: seeded(count),
    })) {
      for (const [path, time] of timesIn(bodyOf(delivery.body))) {
        expect(time, `${delivery.eventType} ${path}`).toBeLessThanOrEqual(now.getTime());
      }
    }
  });

  it('orders each job: booked, then its window, then completed after it, then paid', () => {
    const [booking, completed, paid] = plan({
      providers: ['cooledge'],
      count: 3,
      duplicates: 0,
      outOfOrder: false,
      now,
    }).map((d) => bodyOf(d.body));
    expect(at(booking as JsonObject, 'occurred_at')).toBeLessThan(at(booking as JsonObject, 'starts_at'));
    expect(at(booking as JsonObject, 'ends_at')).toBeLessThan(at(completed as JsonObject, 'completed_at'));
    expect(at(completed as JsonObject, 'occurred_at')).toBeLessThan(at(paid as JsonObject, 'occurred_at'));
    const zenbooker = plan({ providers: ['zenbooker'], count: 3, duplicates: 0, outOfOrder: false, now }).map(
      (d) => bodyOf(d.body),
    );
    const done = zenbooker[2] as JsonObject;
    expect(at(done, 'data.start_date')).toBeLessThanOrEqual(at(done, 'data.started_at'));
    expect(at(done, 'data.started_at')).toBeLessThan(at(done, 'data.completed_at'));
    expect(at(done, 'data.completed_at')).toBeLessThanOrEqual(at(done, 'data.end_date'));
  });
});

describe('cli samples', () => {
  it.each(
    (['cooledge', 'zenbooker'] as const).flatMap((p) =>
      sampleTypes[p].map((t) => [p, t] as [Provider, string]),
    ),
  )('builds a %s %s that the provider schema accepts', (provider, type) => {
    const [delivery] = plan({ providers: [provider], count: 1, type, duplicates: 0, outOfOrder: false });
    const impl = providers.get(provider);
    const body = bodyOf(delivery?.body ?? '');
    const validation = impl?.validate(body);
    expect(validation?.ok, JSON.stringify(validation)).toBe(true);
    const envelope = impl?.envelope(body, { headers: {}, pathToken: undefined, rawBody: Buffer.from('') });
    expect(envelope).toMatchObject({ ok: true, eventType: type });
    if (validation?.ok && type !== 'lead.created') {
      expect(impl?.describe(validation.event).job?.jobId).toBe(delivery?.jobId);
    }
  });

  it('sends one job.completed by default and whole job histories for larger counts', () => {
    expect(plan({ providers: ['cooledge'], count: 1, duplicates: 0, outOfOrder: false })[0]?.eventType).toBe(
      'job.completed',
    );
    const six = plan({ providers: ['cooledge', 'zenbooker'], count: 6, duplicates: 0, outOfOrder: false });
    expect(six.map((d) => `${d.provider} ${d.eventType}`)).toEqual([
      'cooledge booking.created',
      'cooledge job.completed',
      'cooledge invoice.paid',
      'zenbooker job.created',
      'zenbooker job.started',
      'zenbooker job.completed',
    ]);
    expect(new Set(six.slice(0, 3).map((d) => d.jobId)).size).toBe(1);
  });

  it('sends each job newest first with --out-of-order', () => {
    const deliveries = plan({ providers: ['cooledge'], count: 3, duplicates: 0, outOfOrder: true });
    const times = deliveries.map((d) => bodyOf(d.body).occurred_at as string);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('adds the requested share of duplicates, each after its first delivery', () => {
    const random = seeded(7);
    const deliveries = plan({
      providers: ['cooledge', 'zenbooker'],
      count: 40,
      duplicates: 0.25,
      outOfOrder: false,
      random,
    });
    expect(deliveries).toHaveLength(50);
    const duplicates = deliveries.filter((d) => d.duplicate);
    expect(duplicates).toHaveLength(10);
    const key = (d: (typeof deliveries)[number]) =>
      d.provider === 'cooledge' ? (bodyOf(d.body).event_id as string) : eventKey(bodyOf(d.body));
    for (const copy of duplicates) {
      const at = deliveries.indexOf(copy);
      const first = deliveries.findIndex((d) => !d.duplicate && key(d) === key(copy));
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(at);
      // Zenbooker retries carry a higher retry_count and the same dedupe key.
      if (copy.provider === 'zenbooker') expect(bodyOf(copy.body).retry_count).toBe(1);
      else expect(copy.body).toBe(deliveries[first]?.body);
    }
  });
});

describe('cli argument values', () => {
  const now = new Date('2026-06-17T12:00:00.000Z');
  it.each([
    ['30m', '2026-06-17T11:30:00.000Z'],
    ['2h', '2026-06-17T10:00:00.000Z'],
    ['7d', '2026-06-10T12:00:00.000Z'],
    ['2026-06-01', '2026-06-01T00:00:00.000Z'],
    ['2026-06-01T08:00:00+02:00', '2026-06-01T06:00:00.000Z'],
  ])('reads --since %s as %s', (raw, iso) => {
    expect(time({ since: raw }, 'since', now)).toBe(iso);
  });

  it.each([
    ['0.2', 0.2],
    ['20%', 0.2],
    ['1', 1],
    ['0', 0],
  ])('reads --duplicates %s as %d', (raw, value) => {
    expect(rate({ duplicates: raw }, 'duplicates')).toBe(value);
  });

  it('turns a pasted webhook URL into the receiver base URL', () => {
    expect(baseUrl('https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/cooledge', {})).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com',
    );
    expect(baseUrl('https://abc.example.com/prod/webhooks/zenbooker/tok', {})).toBe(
      'https://abc.example.com/prod',
    );
    expect(baseUrl('http://127.0.0.1:3000/', {})).toBe('http://127.0.0.1:3000');
  });

  it('finds the local stack URL in the data directory, else uses PORT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-stack-'));
    try {
      expect(baseUrl(undefined, { PORT: '3123' }, dir)).toBe('http://127.0.0.1:3123');
      writeStackFile(dir, {
        pid: process.pid,
        url: 'http://127.0.0.1:4321',
        dynamoEndpoint: 'http://127.0.0.1:1',
        sqsEndpoint: 'http://127.0.0.1:2',
        region: 'us-east-1',
        names: resourceNames('local'),
        queues: { queueUrl: 'q', deadLetterQueueUrl: 'd' },
        startedAt: now.toISOString(),
      });
      expect(baseUrl(undefined, {}, dir)).toBe('http://127.0.0.1:4321');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
