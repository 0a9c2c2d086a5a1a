import { randomUUID } from 'node:crypto';
import { parseJsonObject } from '#core/json';
import type { AnyProvider, ProviderSender, SampleJob } from '#core/provider';
import { type Random, shuffle } from '../tools/stats.ts';

/**
 * What `send` shares between providers: made-up people, work, services and addresses (customers on
 * example.com: nothing here is real personal data), the jobs sample bodies tell the story of
 * (`SampleJob`), and the plan of one run's deliveries. Each provider's bodies, redeliveries and
 * requests are its sender's (`provider.sender()`, e.g. functions/providers/cooledge.sender.ts).
 */

/** A provider to send as: its registry entry and its loaded sender. */
export interface SampleProvider {
  provider: AnyProvider;
  sender: ProviderSender;
}

/** One HTTP delivery to make: the exact body bytes, and what it is for the summary. */
export interface Delivery {
  /** The provider's name in the registry. */
  provider: string;
  body: string;
  eventType: string;
  /** The job the event is about, when it names one. */
  jobId: string | undefined;
  /** True for the second delivery of an event. */
  duplicate: boolean;
  /**
   * The same for every delivery of one event, different for every event: what providers that
   * identify a delivery by a header send (Standard Webhooks' `webhook-id`).
   */
  messageId: string;
}

const people = [
  ['Priya Nair', '+61498765432'],
  ['Jordan Blake', '+12125550143'],
  ['Mei Tanaka', '+61491570156'],
  ['Sam Ortiz', '+12125550178'],
  ['Aroha Wiremu', '+64215550123'],
  ['Lukas Becker', '+61491570110'],
] as const;

const work = [
  ['Split system service', 'Cleaned filters and coils, checked gas pressures. Running within spec.'],
  ['Ducted system repair', 'Replaced failed zone motor in bedroom 2; tested all zones.'],
  ['Hot water replacement', 'Removed old unit, installed 250 L heat pump, commissioned.'],
  ['Gutter clean', 'Cleared gutters and downpipes, flushed and checked for leaks.'],
] as const;

const services = ['Deep Clean', 'Handyman Service', 'Window Cleaning', 'End of Lease Clean'];
const addresses = [
  '88 Orchard St, New York, NY 10002, USA',
  '434 Lygon St, Brunswick East VIC 3057, Australia',
  '12 Cuba St, Te Aro, Wellington 6011, New Zealand',
];

function pick<T>(items: readonly T[], random: Random): T {
  return items[Math.floor(random() * items.length)] as T;
}

function email(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`;
}

/** A new message id, `msg_` and 32 hex digits (see `Delivery.messageId`). */
export function messageId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

/** Hours before the send that a run's jobs start: every story (under two hours) ends in the past. */
const storyHours = 3;

/**
 * Job `index` of a run of `jobs`: a made-up customer, work and place, and its start. The starts are
 * a second apart, the last `storyHours` hours before `now`, so each job's story happens in the past
 * (an event dated ahead of its receipt is quarantined, and a sample must show the happy path),
 * however many jobs there are.
 */
export function sampleJob(index: number, jobs: number, now: Date, random: Random): SampleJob {
  const [name, phone] = pick(people, random);
  const [title, details] = pick(work, random);
  return {
    index,
    start: new Date(now.getTime() - storyHours * 3_600_000 - (jobs - 1 - index) * 1_000),
    person: { name, phone, email: email(name) },
    work: { title, details },
    service: pick(services, random),
    address: pick(addresses, random),
    random,
    ids: {},
  };
}

/** `history`'s `job.completed`, else its last event: what a run of one event sends. */
export function singleType(sender: ProviderSender): string {
  return sender.history.includes('job.completed') ? 'job.completed' : (sender.history.at(-1) as string);
}

/**
 * The job a body names, as the receiver reads it: the job it changes, else the job named in its
 * entity ids; `undefined` when it names none or fails validation.
 */
export function jobIdOf(provider: AnyProvider, body: string, eventKey = ''): string | undefined {
  const parsed = parseJsonObject(Buffer.from(body, 'utf8'));
  if (!parsed.ok) return undefined;
  const validation = provider.validate(parsed.value);
  if (!validation.ok) return undefined;
  try {
    const facts = provider.describe(validation.event, { eventKey });
    return facts.job?.jobId ?? facts.entityIds.job_id;
  } catch {
    return undefined;
  }
}

export interface PlanOptions {
  /** Taking turns event by event, in this order. */
  providers: readonly SampleProvider[];
  count: number;
  /**
   * Only this event type; default: a provider with one event to send sends its `singleType`, one
   * with more sends job histories.
   */
  type?: string;
  duplicates: number;
  outOfOrder: boolean;
  random?: Random;
  now?: Date;
}

/**
 * The deliveries for one `send` run: `count` distinct events, shared among the providers as evenly
 * as can be (the first ones one more), each provider's jobs told one after another (each job's
 * events newest first with `outOfOrder`). The providers take turns event by event, so the first
 * `providers.length` events (any run of at least that many) reach every provider. Then
 * `round(count × duplicates)` second deliveries (as the provider redelivers, under the first's
 * `messageId`) placed somewhere after their first.
 */
export function plan(options: PlanOptions): Delivery[] {
  const random = options.random ?? Math.random;
  const now = options.now ?? new Date();
  const { providers, count } = options;
  if (providers.length === 0) throw new Error('plan needs at least one provider');
  // Job indexes run on across the providers: at most `count` jobs, one event each at the least.
  let jobIndex = 0;
  const streams = providers.map(({ provider, sender }, i): Delivery[] => {
    const share = Math.floor(count / providers.length) + (i < count % providers.length ? 1 : 0);
    const stream: Delivery[] = [];
    while (stream.length < share) {
      const job = sampleJob(jobIndex, count, now, random);
      jobIndex += 1;
      const types =
        options.type !== undefined ? [options.type] : share === 1 ? [singleType(sender)] : sender.history;
      const chapter = types.slice(0, share - stream.length).map((type): Delivery => {
        // A type's step is its place in the job's history, whether or not the earlier ones are sent.
        const body = JSON.stringify(sender.sample(type, job, Math.max(0, sender.history.indexOf(type))));
        return {
          provider: provider.name,
          body,
          eventType: type,
          jobId: jobIdOf(provider, body),
          duplicate: false,
          messageId: messageId(),
        };
      });
      stream.push(...(options.outOfOrder ? chapter.reverse() : chapter));
    }
    return stream;
  });
  // Event by event: the first of each provider's, then the second of each, …
  const events: Delivery[] = [];
  for (let at = 0; events.length < count; at += 1) {
    for (const stream of streams) {
      const delivery = stream[at];
      if (delivery) events.push(delivery);
    }
  }

  const senders = new Map(options.providers.map((p) => [p.provider.name, p.sender]));
  const duplicateCount = Math.round(options.count * options.duplicates);
  const chosen = shuffle(
    events.map((_, i) => i),
    random,
  ).slice(0, duplicateCount);
  const out = [...events];
  for (const index of chosen.sort((a, b) => b - a)) {
    const original = events[index] as Delivery;
    const sender = senders.get(original.provider) as ProviderSender;
    const copy: Delivery = { ...original, duplicate: true, body: sender.redeliver(original.body) };
    const at = index + 1 + Math.floor(random() * (out.length - index));
    out.splice(at, 0, copy);
  }
  return out;
}
