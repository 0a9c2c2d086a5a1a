import * as v from 'valibot';
import { commaList } from '#core/credentials';
import { safeEqual } from '#core/crypto';
import { isoTime, type JobFields, present } from '#core/job';
import type { JsonObject } from '#core/json';
import { idProblem } from '#core/limits';
import {
  type EventFacts,
  fingerprint,
  idOrUndefined,
  type Provider,
  type ProviderSender,
  readEventType,
} from '#core/provider';
import { eventTime, id, money, toIssues } from '#core/validation';

/**
 * A provider that exists only in the tests: not in the registry, so serving it proves a provider
 * is served from its module alone (`registry([...providers.values(), testProvider])`), with no other
 * file touched. Deliveries carry a key in the `x-test-key` header, equal to one of its credentials'
 * keys; bodies are `{"id", "type", "account", "at", "job": {"id", "status", "total"}}`, and an event
 * that names a job changes it.
 */

/** Its entry in the credentials: the keys in force. */
export const TestCredentials = v.object({
  keys: v.pipe(
    v.array(v.pipe(v.string(), v.minLength(16, 'a key of at least 16 characters'))),
    v.minLength(1, 'at least one key'),
  ),
});
export type TestCredentials = v.InferOutput<typeof TestCredentials>;

/** The public, made-up key the local stack uses when `TEST_PROVIDER_KEYS` is unset. */
export const testProviderDevKey = 'test_local_dev_key_0123456789';

export const TestEvent = v.looseObject({
  id,
  type: v.pipe(v.string(), v.nonEmpty('an event type')),
  account: v.optional(id),
  at: v.optional(eventTime),
  job: v.optional(v.looseObject({ id, status: v.nullish(v.string()), total: money })),
});
export type TestEvent = v.InferOutput<typeof TestEvent>;

/** Tooling side: sample bodies and the authenticated request. */
export const testSender: ProviderSender<TestCredentials> = {
  sampleTypes: ['job.created', 'job.completed'],
  history: ['job.created', 'job.completed'],
  sample(type, job, step) {
    job.ids.job ??= `T-${job.index}`;
    return {
      id: `${job.ids.job}-${step}-${type}`,
      type,
      account: `acct-${job.index % 2}`,
      at: job.start.toISOString(),
      job: { id: job.ids.job, status: type === 'job.completed' ? 'completed' : 'scheduled', total: 100 },
    };
  },
  redeliver: (body) => body,
  recognises: (body: JsonObject) =>
    typeof body.id === 'string' && typeof body.job === 'object' && 'at' in body,
  request(_body, { credentials }) {
    const key = credentials.keys[0];
    if (key === undefined) throw new Error('no test provider key is configured');
    return { path: '/webhooks/test', headers: { 'content-type': 'application/json', 'x-test-key': key } };
  },
};

export const testProvider: Provider<TestEvent, TestCredentials> = {
  name: 'test',
  title: 'Test provider',
  route: {},
  credentials: {
    schema: TestCredentials,
    env: {
      variable: 'TEST_PROVIDER_KEYS',
      parse: (text) => ({ keys: commaList(text) }),
      dev: testProviderDevKey,
    },
  },
  settings: {},
  keptHeaders: ['content-type', 'user-agent'],
  setup: 'Test only: send a key of the credentials in x-test-key',

  authenticate(request, { credentials }) {
    const key = request.headers['x-test-key'];
    if (!key) return { ok: false, reason: 'key missing' };
    let matched = false;
    for (const candidate of credentials.keys) {
      if (safeEqual(key, candidate)) matched = true;
    }
    return matched ? { ok: true } : { ok: false, reason: 'key mismatch' };
  },

  envelope(body) {
    if (typeof body.id !== 'string' || body.id.trim() === '')
      return { ok: false, detail: 'id must be a non-empty string' };
    const problem = idProblem(body.id);
    if (problem) return { ok: false, detail: `id ${problem}` };
    const read = readEventType(body.type, 'type');
    if (!read.ok) return read;
    return {
      ok: true,
      eventKey: body.id,
      eventType: read.eventType,
      accountId: idOrUndefined(body.account),
      get fingerprint() {
        return fingerprint(body);
      },
    };
  },

  validate(body) {
    const result = v.safeParse(TestEvent, body);
    return result.success
      ? { ok: true, event: result.output }
      : { ok: false, issues: toIssues(result.issues) };
  },

  describe(event): EventFacts {
    const job = event.job;
    return {
      accountId: event.account,
      entityIds: job ? { job_id: job.id } : {},
      occurredAt: isoTime(event.at),
      job: job
        ? { jobId: job.id, fields: present<JobFields>({ status: job.status, total: job.total }) }
        : undefined,
    };
  },

  sender: async () => testSender,
};
