import { describe, expect, it } from 'vitest';
import { powertoolsMetrics } from '#adapters/telemetry';
import type { StoreResult } from '#core/consume';
import { customMetrics, type Logger, type MetricPublication } from '#core/ports';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { createHandler as createConsumer } from '../../functions/consume/app.ts';
import { OutcomeTally } from '../../local/log.ts';
import { apiEvent } from '../support/api-event.ts';
import { cooledgeEvent, queueMessage, retiredVolumeMetrics } from '../support/factories.ts';
import { FakeStore, fixedClock, RecordingLogger } from '../support/fakes.ts';
import { fakeIngest } from '../support/ingest-harness.ts';
import { sqsEvent } from '../support/sqs-event.ts';

/**
 * What the functions publish to CloudWatch, read from the embedded metric format lines the real
 * Powertools adapter writes. A custom metric published with every event costs $0.30 a month at
 * any steady volume, so a healthy event publishes none and every name published is one
 * `customMetrics` declares as published only on failure.
 */

/** Each metric the EMF lines publish, with its value and dimensions; other lines publish none. */
function published(lines: string[]): Array<{ name: string; value: number; dimensions: string[][] }> {
  return lines.flatMap((line) => {
    const record = JSON.parse(line) as {
      _aws?: { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
      [key: string]: unknown;
    };
    return (record._aws?.CloudWatchMetrics ?? []).flatMap((directive) =>
      directive.Metrics.map(({ Name }) => ({
        name: Name,
        value: record[Name] as number,
        dimensions: directive.Dimensions,
      })),
    );
  });
}

/** Runs `work`, returning every line written to stdout meanwhile (where Powertools writes EMF). */
async function stdoutOf(work: () => Promise<unknown>): Promise<string[]> {
  let text = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    await work();
  } finally {
    process.stdout.write = write;
  }
  return text.split('\n').filter(Boolean);
}

const now = new Date('2026-06-21T08:00:00.000Z');
const secret = 'metrics-test-signing-secret';
const volumeNames = retiredVolumeMetrics;

function ingest() {
  const { handler, queue } = fakeIngest(
    { secret, token: 'metrics-test-token-0123456789', now },
    { metrics: powertoolsMetrics('ingest') },
  );
  const post = (raw: string, headers: Record<string, string> = {}) =>
    handler(
      apiEvent('POST', '/webhooks/cooledge', raw, {
        'content-type': 'application/json',
        'x-cooledge-signature': sign(raw, secret, 'timestamped', now),
        ...headers,
      }),
    );
  return { post, queue };
}

/** The consumer over a store answering `outcome` for every event (or failing with `outcome` as an error). */
function consumeAs(outcome: StoreResult | Error, logger: Logger = new RecordingLogger()) {
  const handler = createConsumer({
    providers,
    store: new FakeStore(() => {
      if (outcome instanceof Error) throw outcome;
      return outcome;
    }),
    clock: fixedClock(now),
    dedupeHorizonDays: 30,
    eventTimeSkewSeconds: 300,
    logger,
    metrics: powertoolsMetrics('consume'),
  });
  return handler(sqsEvent([JSON.stringify(queueMessage('cooledge', cooledgeEvent()))]));
}

describe('custom metrics', () => {
  it('are not published by a healthy event: accepted, then applied, stale, recorded or a duplicate', async () => {
    const lines = await stdoutOf(async () => {
      const { post } = ingest();
      expect((await post(JSON.stringify(cooledgeEvent()))).statusCode).toBe(202);
      for (const outcome of ['applied', 'stale', 'recorded', 'duplicate'] as const) {
        expect((await consumeAs(outcome)).batchItemFailures).toEqual([]);
      }
    });
    expect(published(lines)).toEqual([]);
  });

  it('are published when something goes wrong, each a failure metric under its service', async () => {
    const lines = await stdoutOf(async () => {
      const { post, queue } = ingest();
      const raw = JSON.stringify(cooledgeEvent());
      expect((await post(raw, { 'x-cooledge-signature': 'v1=0' })).statusCode).toBe(401);
      expect((await post('{', {})).statusCode).toBe(400);
      expect((await post(raw, { 'content-type': 'text/plain' })).statusCode).toBe(415);
      expect((await post('x'.repeat(300 * 1024))).statusCode).toBe(413);
      expect((await post(JSON.stringify(cooledgeEvent('job.completed', { job_id: 12 })))).statusCode).toBe(
        202,
      );
      queue.failure = new Error('SQS is down');
      expect((await post(JSON.stringify(cooledgeEvent()))).statusCode).toBe(503);
      await consumeAs('conflict');
      await consumeAs('unprocessable');
      expect((await consumeAs(new Error('throttled'))).batchItemFailures).toHaveLength(1);
    });
    const metrics = published(lines);
    expect(metrics.map((m) => m.name).sort()).toEqual(
      [
        'Conflict',
        'EnqueueFailed',
        'Quarantined',
        'RecordFailed',
        'RejectedBadRequest',
        'RejectedTooLarge',
        'RejectedUnauthorized',
        'RejectedUnsupportedMediaType',
        'Unprocessable',
      ].sort(),
    );
    for (const metric of metrics) {
      expect(customMetrics[metric.name as keyof typeof customMetrics], metric.name).toBe('failure');
      expect(metric.value, metric.name).toBe(1);
      expect(metric.dimensions, metric.name).toEqual([['service']]);
    }
  });

  it('declare no name published with every event, and none of the volume counts they once were', () => {
    const declared: Record<string, MetricPublication> = customMetrics;
    expect(Object.entries(declared).filter(([, when]) => when === 'perEvent')).toEqual([]);
    for (const name of volumeNames) expect(Object.keys(customMetrics), name).not.toContain(name);
  });
});

describe('per-event counts', () => {
  it('come from the line each event ends with, which the tally counts and passes on', async () => {
    const lines = new RecordingLogger();
    const tally = new OutcomeTally(lines);
    await stdoutOf(async () => {
      for (const outcome of ['applied', 'applied', 'duplicate', 'conflict'] as const)
        await consumeAs(outcome, tally);
      await consumeAs(new Error('throttled'), tally);
    });
    expect(tally.get('applied')).toBe(2);
    expect(tally.get('stale')).toBe(0);
    expect(tally.summary()).toBe('applied=2 duplicate=1 conflict=1 failed=1');
    // The dashboard's Logs Insights widget filters on this message and counts by this field.
    expect(lines.entries.filter((e) => e.message === 'event processed').map((e) => e.data?.outcome)).toEqual([
      'applied',
      'applied',
      'duplicate',
      'conflict',
    ]);
  });
});
