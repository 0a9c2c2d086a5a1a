import { randomUUID } from 'node:crypto';
import type { JsonObject } from '#core/json';
import { fixture } from './fixtures.ts';

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
