import { randomUUID } from 'node:crypto';
import type { EventRecord } from '#core/consume';
import { type JsonObject, parseJsonObject } from '#core/json';
import type { QueueMessage } from '#core/message';
import { eventKey } from '#providers/zenbooker';
import { fixture, type ProviderName } from './fixtures.ts';

/** A Cooledge event built on a fixture, with fresh ids unless overridden. */
export function cooledgeEvent(name = 'job.completed', overrides: JsonObject = {}): JsonObject {
  return { ...fixture('cooledge', name), event_id: randomUUID(), ...overrides };
}

/** A Bubble-style id: digits, `x`, digits — text, never a number. */
export function bubbleId(): string {
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
  return `1${digits(12)}x${digits(18)}`;
}

/** A Zenbooker event built on a fixture; `data` overrides merge into the job object. */
export function zenbookerEvent(
  name = 'job.completed',
  overrides: { envelope?: JsonObject; data?: JsonObject } = {},
): JsonObject {
  const base = fixture('zenbooker', name);
  return { ...base, ...overrides.envelope, data: { ...(base.data as JsonObject), ...overrides.data } };
}

/**
 * The queue message the ingest function would send for a body, as a consumer test needs it; any
 * field can be overridden. The event key is the provider's (`event_id` or the Zenbooker hash).
 */
export function queueMessage(
  provider: ProviderName,
  body: JsonObject,
  overrides: Partial<QueueMessage> = {},
): QueueMessage {
  return {
    v: 1,
    provider,
    eventKey: provider === 'cooledge' ? String(body.event_id) : eventKey(body),
    eventType: String(provider === 'cooledge' ? body.event_type : body.event),
    receivedAt: '2026-06-20T00:00:00.000Z',
    bodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
    headers: { 'content-type': 'application/json' },
    ...overrides,
  };
}

/**
 * A placeholder for a bare JSON number token in a body built as an object: `jsonWithNumbers`
 * writes it as `text`, unquoted. How a test sends a number a JavaScript number cannot hold
 * (`1e16`, `1e309`, `90071992547409937`), which `JSON.stringify` could never write.
 */
export function numberToken(text: string): string {
  return `\u0000number:${text}\u0000`;
}

/** `JSON.stringify(body)`, with every `numberToken(text)` written as the bare number `text`. */
export function jsonWithNumbers(body: unknown): string {
  return JSON.stringify(body).replace(/"\\u0000number:([-+.0-9eE]+)\\u0000"/g, '$1');
}

/** A body as ingest and the consumer see it: JSON text through `parseJsonObject` (which must accept it). */
export function parsedBody(text: string): JsonObject {
  const result = parseJsonObject(Buffer.from(text));
  if (!result.ok) throw new Error(`expected a JSON object, got: ${result.detail}`);
  return result.value;
}

/** An event-log record as the consumer hands it to a store: a Cooledge job event, `evt-b` of `job-1`. */
export function eventRecord(overrides: Partial<EventRecord> = {}): EventRecord {
  return {
    provider: 'cooledge',
    eventKey: 'evt-b',
    eventType: 'job.completed',
    accountId: 'acct-1',
    entityIds: { job_id: 'job-1' },
    occurredAt: '2026-06-17T14:00:00.000Z',
    receivedAt: '2026-06-20T00:00:00.000Z',
    processedAt: '2026-06-20T00:00:01.000Z',
    rawBody: '{"event_id":"evt-b"}',
    fingerprint: 'fp-b',
    headers: {},
    issues: undefined,
    expiresAt: 1_800_000_000,
    replay: false,
    ...overrides,
  };
}

/** The metrics the first versions published with every event; none is published now. */
export const retiredVolumeMetrics = [
  'Received',
  'Accepted',
  'Applied',
  'Stale',
  'Recorded',
  'QuarantineRecorded',
  'Duplicate',
] as const;
