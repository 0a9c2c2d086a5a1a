import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '#core/config';
import { readCredentials } from '#core/credentials';
import type { JsonObject } from '#core/json';
import type { AnyProvider } from '#core/provider';
import { providers } from '#providers/index';
import { rate, time } from '../../cli/args.ts';
import { type Delivery, plan, type SampleProvider, sampleJob, singleType } from '../../cli/samples.ts';
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

/** Every provider of the registry with its sender, loaded once. */
let all: SampleProvider[] = [];
const entry = (name: string) => all.find((p) => p.provider.name === name) as SampleProvider;
beforeAll(async () => {
  all = await Promise.all(
    [...providers.values()].map(async (provider) => ({ provider, sender: await provider.sender() })),
  );
});

/** A provider's dev credentials and default settings, as the local stack runs with them. */
function devContext(provider: AnyProvider) {
  const checked = readCredentials(
    { [provider.name]: provider.credentials.env.parse(provider.credentials.env.dev) },
    new Map([[provider.name, provider]]),
  );
  if (!checked.ok) throw new Error(`${provider.name}'s dev credentials: ${checked.problem.message}`);
  return { credentials: checked.value[provider.name], settings: readSettings(provider, {}) };
}

/**
 * The request the receiver gets for a delivery: the provider sender's path and headers (lower-cased
 * as API Gateway gives them), the path parameter after `/webhooks/<name>/`.
 */
function received(delivery: Delivery, now: Date) {
  const { provider, sender } = entry(delivery.provider);
  const rawBody = Buffer.from(delivery.body);
  const { credentials, settings } = devContext(provider);
  const made = sender.request(rawBody, { credentials, settings, now, messageId: delivery.messageId });
  const prefix = `/webhooks/${provider.name}`;
  expect(made.path === prefix || made.path.startsWith(`${prefix}/`), made.path).toBe(true);
  const parameter = made.path.slice(prefix.length + 1);
  return {
    request: {
      headers: Object.fromEntries(Object.entries(made.headers).map(([k, v]) => [k.toLowerCase(), v])),
      pathParameter: parameter === '' ? undefined : decodeURIComponent(parameter),
      rawBody,
    },
    credentials,
    settings,
  };
}

/** Each provider in the registry, by name: `it.each` over the registry, never a fixed list. */
const names = [...providers.keys()];

describe('cli samples: a consistent story, all in the past', () => {
  const now = new Date('2026-06-20T12:00:00.000Z');

  it.each([1, 7, 40, 300])('dates nothing after the send in a run of %i events', (count) => {
    for (const delivery of plan({
      providers: all,
      count,
      duplicates: 0,
      outOfOrder: false,
      now,
      random: seeded(count),
    })) {
      for (const [path, time] of timesIn(bodyOf(delivery.body))) {
        expect(time, `${delivery.provider} ${delivery.eventType} ${path}`).toBeLessThanOrEqual(now.getTime());
      }
    }
  });

  it('keeps the largest run in the past too (jobs start a second apart, ending before the send)', () => {
    const first = sampleJob(0, 100_000, now, seeded(1));
    const last = sampleJob(99_999, 100_000, now, seeded(1));
    expect(first.start.getTime()).toBeLessThan(last.start.getTime());
    expect(last.start.getTime()).toBeLessThanOrEqual(now.getTime() - 2 * 3_600_000);
  });

  it.each(names)('%s: a job history in time order, every event time in the past', (name) => {
    const { provider, sender } = entry(name);
    const history = plan({
      providers: [entry(name)],
      count: sender.history.length,
      duplicates: 0,
      outOfOrder: false,
      now,
      random: seeded(3),
    });
    expect(history.map((d) => d.eventType)).toEqual(sender.history);
    // One job, named by every event that names a job.
    expect(new Set(history.map((d) => d.jobId).filter(Boolean)).size).toBe(1);
    const times = history.map((d) => {
      const validation = provider.validate(bodyOf(d.body));
      expect(validation.ok, JSON.stringify(validation)).toBe(true);
      if (!validation.ok) return Number.NaN;
      // The event's own time, else (a provider that sends none) its job's time for its stage.
      const facts = provider.describe(validation.event, { eventKey: '' });
      const at = facts.occurredAt ?? facts.job?.stageTime;
      return at === undefined ? undefined : Date.parse(at);
    });
    const known = times.filter((t): t is number => t !== undefined);
    expect(known, 'ordered').toEqual([...known].sort((a, b) => a - b));
    for (const t of known) expect(t).toBeLessThan(now.getTime());
    // Every time in every body is past, and the completion follows what was scheduled.
    for (const d of history) {
      for (const [path, t] of timesIn(bodyOf(d.body)))
        expect(t, `${d.eventType} ${path}`).toBeLessThan(now.getTime());
    }
    const last = history.at(-1) as Delivery;
    const fields = (() => {
      const validation = provider.validate(bodyOf(last.body));
      return validation.ok ? (provider.describe(validation.event, { eventKey: '' }).job?.fields ?? {}) : {};
    })();
    if (fields.completedAt !== undefined && fields.scheduledStart !== undefined) {
      expect(Date.parse(fields.completedAt)).toBeGreaterThan(Date.parse(fields.scheduledStart));
    }
  });

  it('orders a Cooledge job: booked, then its window, then completed after it, then paid', () => {
    const at = (body: JsonObject, path: string) => timesIn(body).find(([p]) => p === path)?.[1] ?? Number.NaN;
    const [booking, completed, paid] = plan({
      providers: [entry('cooledge')],
      count: 3,
      duplicates: 0,
      outOfOrder: false,
      now,
    }).map((d) => bodyOf(d.body)) as [JsonObject, JsonObject, JsonObject];
    expect(at(booking, 'occurred_at')).toBeLessThan(at(booking, 'starts_at'));
    expect(at(booking, 'ends_at')).toBeLessThan(at(completed, 'completed_at'));
    expect(at(completed, 'occurred_at')).toBeLessThan(at(paid, 'occurred_at'));
    const zenbooker = plan({
      providers: [entry('zenbooker')],
      count: 3,
      duplicates: 0,
      outOfOrder: false,
      now,
    });
    const done = bodyOf((zenbooker[2] as Delivery).body);
    expect(at(done, 'data.start_date')).toBeLessThanOrEqual(at(done, 'data.started_at'));
    expect(at(done, 'data.started_at')).toBeLessThan(at(done, 'data.completed_at'));
    expect(at(done, 'data.completed_at')).toBeLessThanOrEqual(at(done, 'data.end_date'));
  });
});

describe('cli samples: every provider in the registry', () => {
  const now = new Date();

  it('has a sender for every provider, its history drawn from its sample types', () => {
    expect(all.map((p) => p.provider.name)).toEqual(names);
    for (const { sender } of all) {
      expect(sender.history.length).toBeGreaterThan(0);
      for (const type of sender.history) expect(sender.sampleTypes).toContain(type);
    }
  });

  it.each(names)(
    '%s: a sample of every sample type validates, and the receiver authenticates its request',
    async (name) => {
      const { provider, sender } = entry(name);
      for (const type of sender.sampleTypes) {
        const [delivery] = plan({
          providers: [entry(name)],
          count: 1,
          type,
          duplicates: 0,
          outOfOrder: false,
        });
        if (!delivery) throw new Error('no delivery');
        const body = bodyOf(delivery.body);
        const validation = provider.validate(body);
        expect(validation.ok, `${type}: ${JSON.stringify(validation)}`).toBe(true);
        const { request, credentials, settings } = received(delivery, now);
        expect(provider.authenticate(request, { credentials, settings, now }), type).toEqual({ ok: true });
        const envelope = provider.envelope(body, request);
        expect(envelope, type).toMatchObject({ ok: true, eventType: type });
        if (validation.ok) {
          const facts = provider.describe(validation.event, { eventKey: '' });
          expect(facts.job?.jobId ?? facts.entityIds.job_id, type).toBe(delivery.jobId);
        }
      }
    },
  );

  it.each(names)('%s: a redelivery is the same event (the same event key), the next one is not', (name) => {
    const { provider } = entry(name);
    const deliveries = plan({
      providers: [entry(name)],
      count: 12,
      duplicates: 1,
      outOfOrder: false,
      now,
      random: seeded(11),
    });
    const keyOf = (d: Delivery) => {
      const { request } = received(d, now);
      const envelope = provider.envelope(bodyOf(d.body), request);
      if (!envelope.ok) throw new Error(envelope.detail);
      return envelope;
    };
    const firsts = deliveries.filter((d) => !d.duplicate);
    expect(new Set(firsts.map((d) => keyOf(d).eventKey)).size).toBe(firsts.length);
    expect(new Set(firsts.map((d) => d.messageId)).size).toBe(firsts.length);
    for (const copy of deliveries.filter((d) => d.duplicate)) {
      const first = firsts.find((d) => d.messageId === copy.messageId) as Delivery;
      expect(deliveries.indexOf(first)).toBeLessThan(deliveries.indexOf(copy));
      expect(keyOf(copy).eventKey).toBe(keyOf(first).eventKey);
      // The same event, not a conflict.
      expect(keyOf(copy).fingerprint).toBe(keyOf(first).fingerprint);
    }
  });

  it('redelivers as each provider does: Cooledge the same bytes, Zenbooker with retry_count + 1', () => {
    for (const [name, check] of [
      ['cooledge', (first: string, copy: string) => expect(copy).toBe(first)],
      ['zenbooker', (_: string, copy: string) => expect(bodyOf(copy).retry_count).toBe(1)],
    ] as const) {
      const [first, copy] = plan({ providers: [entry(name)], count: 1, duplicates: 1, outOfOrder: false });
      check((first as Delivery).body, (copy as Delivery).body);
    }
  });

  it('any plan: every delivery is authentic, valid and dated no later than the send (property)', () => {
    fc.assert(
      fc.property(
        fc.subarray(names, { minLength: 1 }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.constantFrom(...all.flatMap((p) => p.sender.sampleTypes)), { nil: undefined }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        fc.integer(),
        (chosen, count, type, duplicates, outOfOrder, seed) => {
          const senders = chosen.map(entry);
          // A type is offered only by the providers that have a sample of it.
          const offering =
            type === undefined ? senders : senders.filter((p) => p.sender.sampleTypes.includes(type));
          fc.pre(offering.length > 0);
          const deliveries = plan({
            providers: offering,
            count,
            ...(type === undefined ? {} : { type }),
            duplicates,
            outOfOrder,
            now,
            random: seeded(seed),
          });
          expect(deliveries.filter((d) => !d.duplicate)).toHaveLength(count);
          expect(deliveries.filter((d) => d.duplicate)).toHaveLength(Math.round(count * duplicates));
          for (const delivery of deliveries) {
            const { provider } = entry(delivery.provider);
            const { request, credentials, settings } = received(delivery, now);
            expect(provider.authenticate(request, { credentials, settings, now })).toEqual({ ok: true });
            const body = bodyOf(delivery.body);
            expect(provider.envelope(body, request).ok).toBe(true);
            expect(provider.validate(body).ok).toBe(true);
            for (const [, t] of timesIn(body)) expect(t).toBeLessThanOrEqual(now.getTime());
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sends one job.completed by default and whole job histories for larger counts', () => {
    for (const p of all) {
      expect(plan({ providers: [p], count: 1, duplicates: 0, outOfOrder: false })[0]?.eventType).toBe(
        'job.completed',
      );
    }
    // A history's worth of events: the whole history, in order, of one job.
    for (const p of all) {
      const run = plan({ providers: [p], count: p.sender.history.length, duplicates: 0, outOfOrder: false });
      expect(run.map((d) => d.eventType)).toEqual(p.sender.history);
      expect(new Set(run.map((d) => d.jobId).filter(Boolean)).size, p.provider.name).toBe(1);
    }
  });

  it('--provider all: the providers take turns event by event, so any count of at least their number reaches each (property)', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(all, { minLength: 1 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (providers, count, outOfOrder) => {
          const run = plan({ providers, count, duplicates: 0, outOfOrder, now });
          expect(run).toHaveLength(count);
          const names = providers.map((p) => p.provider.name);
          // The first events: one of each provider in turn (the first `count` of them when fewer).
          const first = Math.min(count, names.length);
          expect(run.slice(0, first).map((d) => d.provider)).toEqual(names.slice(0, first));
          // Turn by turn all through: provider i sends events i, i + P, i + 2P, … while it has any.
          for (const [i, name] of names.entries()) {
            const share = Math.floor(count / names.length) + (i < count % names.length ? 1 : 0);
            const own = run.filter((d) => d.provider === name);
            expect(own, name).toHaveLength(share);
            const sender = (providers[i] as SampleProvider).sender;
            // One event: the single sample. More: job histories, each job's events together and in order.
            if (share === 1) expect(own[0]?.eventType).toBe(singleType(sender));
            else {
              const history = outOfOrder ? [...sender.history].reverse() : sender.history;
              const byJob = new Map<string, string[]>();
              for (const d of own)
                byJob.set(d.jobId as string, [...(byJob.get(d.jobId as string) ?? []), d.eventType]);
              for (const types of byJob.values())
                expect(outOfOrder ? history.slice(-types.length) : history.slice(0, types.length)).toEqual(
                  types,
                );
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('sends each job newest first with --out-of-order', () => {
    const deliveries = plan({ providers: [entry('cooledge')], count: 3, duplicates: 0, outOfOrder: true });
    const times = deliveries.map((d) => bodyOf(d.body).occurred_at as string);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('adds the requested share of duplicates, each after its first delivery, under its message id', () => {
    const deliveries = plan({
      providers: all,
      count: 40,
      duplicates: 0.25,
      outOfOrder: false,
      random: seeded(7),
    });
    expect(deliveries).toHaveLength(50);
    const duplicates = deliveries.filter((d) => d.duplicate);
    expect(duplicates).toHaveLength(10);
    for (const copy of duplicates) {
      const first = deliveries.findIndex((d) => !d.duplicate && d.messageId === copy.messageId);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(deliveries.indexOf(copy));
      expect(copy.messageId).toMatch(/^msg_[0-9a-f]{32}$/);
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
    '2026-02-30',
    '2026-11-30junk',
    '2026-11-30T24:00:00Z',
    '2026-06-17T14:00:00Zx',
    '2026-06-17T14:60Z',
  ])('refuses --since %j: not a real date and time, or something after it', (raw) => {
    expect(() => time({ since: raw }, 'since', now)).toThrow('--since must be an ISO 8601 time');
  });

  it('--since takes a date or time exactly when it exists, with nothing after it (property)', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2200 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.tuple(
          fc.integer({ min: 0, max: 25 }),
          fc.integer({ min: 0, max: 61 }),
          fc.integer({ min: 0, max: 61 }),
        ),
        fc.constantFrom('', 'junk', 'Z', ' UTC', 'T', '0', '.'),
        (year, month, day, [hour, minute, second], tail) => {
          const lastDay = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
          const realDay = day >= 1 && day <= lastDay;
          const realTime = hour <= 23 && minute <= 59 && second <= 59;
          const date = `${year}-${two(month)}-${two(day)}`;
          const read = (raw: string) => () => time({ since: raw }, 'since', now);
          const at = `${date}T${two(hour)}:${two(minute)}:${two(second)}Z`;
          if (realDay && realTime) {
            expect(read(at)()).toBe(
              new Date(Date.UTC(year, month - 1, day, hour, minute, second)).toISOString(),
            );
            expect(read(date)()).toBe(new Date(Date.UTC(year, month - 1, day)).toISOString());
          } else expect(read(at)).toThrow('--since must be an ISO 8601 time');
          if (!realDay) expect(read(date)).toThrow('--since must be an ISO 8601 time');
          if (tail !== '') {
            expect(read(`${at}${tail}`)).toThrow('--since must be an ISO 8601 time');
            if (tail !== 'Z' && tail !== 'T')
              expect(read(`${date}${tail}`)).toThrow('--since must be an ISO 8601 time');
          }
        },
      ),
      { numRuns: 500 },
    );
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
