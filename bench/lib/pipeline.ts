import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { StaticCredentials } from '#adapters/credentials';
import { readAllSettings } from '#core/config';
import type { IngestDeps } from '#core/ingest';
import type { JsonObject } from '#core/json';
import type { Queue, QueueMessage } from '#core/message';
import { type Clock, type Logger, type Metrics, silentLogger } from '#core/ports';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { apiEvent } from '../../test/support/api-event.ts';

/**
 * What every benchmark shares: bench-only credentials (never deployed anywhere), fixture bodies,
 * and in-process ports for the ingest function.
 */

export const benchCooledgeSecret = 'whsec_bench_only_0123456789abcdef';
export const benchZenbookerToken = 'zbk_bench_only_0123456789abcdefghij';

export const repoRoot = join(import.meta.dirname, '..', '..');

export function fixture(provider: 'cooledge' | 'zenbooker', name: string): JsonObject {
  return JSON.parse(
    readFileSync(join(repoRoot, 'test', 'fixtures', provider, `${name}.json`), 'utf8'),
  ) as JsonObject;
}

/** A queue that keeps only a count and the last message: enqueueing costs nothing measurable. */
export class MemoryQueue implements Queue {
  sent = 0;
  last: QueueMessage | undefined;
  async send(message: QueueMessage): Promise<void> {
    this.sent += 1;
    this.last = message;
  }
}

export const noMetrics: Metrics = { count() {}, flush() {} };

export function ingestDeps(
  queue: Queue,
  options: { clock?: Clock; logger?: Logger; metrics?: Metrics } = {},
): IngestDeps {
  return {
    providers,
    queue,
    credentials: new StaticCredentials({
      cooledge: { secrets: [benchCooledgeSecret] },
      zenbooker: { tokens: [benchZenbookerToken] },
    }),
    clock: options.clock ?? (() => new Date()),
    logger: options.logger ?? silentLogger,
    metrics: options.metrics ?? noMetrics,
    maxBodyBytes: 256 * 1024,
    providerSettings: readAllSettings(providers, {}),
    eventTimeSkewSeconds: 300,
  };
}

/** The API Gateway HTTP API (payload 2.0) event for one POST, as the real integration sends it. */
export function postEvent(
  path: string,
  raw: string,
  headers: Record<string, string>,
): APIGatewayProxyEventV2 {
  return apiEvent('POST', path, raw, {
    'content-type': 'application/json',
    'user-agent': 'bench',
    ...headers,
  });
}

export function cooledgeRequest(raw: string, now: Date): APIGatewayProxyEventV2 {
  return postEvent('/webhooks/cooledge', raw, {
    'x-cooledge-signature': sign(raw, benchCooledgeSecret, 'timestamped', now),
  });
}

export function zenbookerRequest(raw: string): APIGatewayProxyEventV2 {
  return postEvent(`/webhooks/zenbooker/${benchZenbookerToken}`, raw, {});
}

/**
 * The Zenbooker fixture grown to about 5 KB of compact JSON (more job fields, as a job with many
 * service options has): the "large" payload of the benchmarks.
 */
export function largeZenbooker(): JsonObject {
  const base = fixture('zenbooker', 'job.completed');
  const data = base.data as JsonObject & { job_fields?: unknown[] };
  const fields = Array.isArray(data.job_fields) ? data.job_fields : [];
  const grown: unknown[] = [...fields];
  for (let i = 0; JSON.stringify({ ...base, data: { ...data, job_fields: grown } }).length < 5_000; i++) {
    grown.push(structuredClone(fields[i % Math.max(1, fields.length)] ?? { field_name: `extra ${i}` }));
  }
  return { ...base, data: { ...data, job_fields: grown } };
}
