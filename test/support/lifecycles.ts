import fc from 'fast-check';
import type { JsonObject } from '#core/json';
import { cooledgeEvent, zenbookerEvent } from './factories.ts';

/**
 * Job histories the model-based tests generate (test/integration/store-model.test.ts,
 * test/integration/job-events.test.ts): one description of each provider's job events, so the two
 * suites deliver the same kinds of bodies.
 */

/** Zenbooker's lifecycle stages as its job events name them, with the status each carries. */
export const zenbookerStage = fc.constantFrom(
  { event: 'job.created', status: 'scheduled' },
  { event: 'job.enroute', status: 'en-route' },
  { event: 'job.started', status: 'started' },
  { event: 'job.completed', status: 'complete' },
  { event: 'job.canceled', status: 'scheduled', canceled: true },
);

export type ZenbookerStage = typeof zenbookerStage extends fc.Arbitrary<infer T> ? T : never;

/**
 * A Zenbooker job event for job `Z-1` at `stage`, of `account`, carrying `note`; `time` is the
 * stage's own time (`started_at` or `completed_at`), or `null` for a body without one.
 */
export function zenbookerStageEvent(
  z: { stage: ZenbookerStage; account: string; note: string },
  time: string | null,
): JsonObject {
  return zenbookerEvent('job.started.v2025', {
    envelope: { event: z.stage.event, account: z.account, retry_count: 0 },
    data: {
      id: 'Z-1',
      status: z.stage.status,
      canceled: z.stage.canceled ?? false,
      started_at: z.stage.event === 'job.started' ? time : null,
      completed_at: z.stage.event === 'job.completed' ? time : null,
      note: z.note,
    },
  });
}

/**
 * A Cooledge event of `type` with `own` ids and times, and the status (and, for `job.completed`,
 * the description) of `c` where that type carries them.
 */
export function cooledgeTypedEvent(
  type: string,
  own: JsonObject,
  c: { status: string; description: string | null },
): JsonObject {
  if (type === 'job.completed')
    return cooledgeEvent(type, { ...own, status: c.status, description: c.description });
  if (type === 'booking.created') return cooledgeEvent(type, { ...own, status: c.status });
  return cooledgeEvent(type, own);
}
