import { randomUUID } from 'node:crypto';
import type { JsonObject } from '#core/json';
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
