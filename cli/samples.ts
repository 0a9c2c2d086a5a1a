import { randomUUID } from 'node:crypto';
import { type Random, shuffle } from '../tools/stats.ts';

/**
 * Realistic webhook bodies for `send`, built in code (the shapes follow docs/providers.md and the
 * fixtures): a few businesses, made-up customers on example.com, jobs that move forward through
 * their events. Nothing here is real personal data.
 */

export type Provider = 'cooledge' | 'zenbooker';

export const sampleTypes: Record<Provider, readonly string[]> = {
  cooledge: ['booking.created', 'job.completed', 'invoice.paid', 'lead.created'],
  zenbooker: ['job.created', 'job.started', 'job.completed', 'job.canceled'],
};

/** The events of one job, in the order they happen. */
const stories: Record<Provider, readonly string[]> = {
  cooledge: ['booking.created', 'job.completed', 'invoice.paid'],
  zenbooker: ['job.created', 'job.started', 'job.completed'],
};

/** One HTTP delivery to make: the exact body bytes, and what it is for the summary. */
export interface Delivery {
  provider: Provider;
  body: string;
  eventType: string;
  /** The job the event is about, when it names one. */
  jobId: string | undefined;
  /** True for the second delivery of an event. */
  duplicate: boolean;
}

const cooledgeBusinesses = ['a7f3c9d1-2e84-4b6f-8c01-5d9e2a1f7b30', '3b8e5f12-7a49-4c6d-9e02-1f4a8c7d2b95'];
const zenbookerAccounts = ['1571029418512x639482157734019100', '1604771203315x218845620193847200'];

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

/** A Bubble-style id as Zenbooker sends them: opaque text, larger than 2^53. */
export function bubbleId(random: Random): string {
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  return `1${digits(12)}x${digits(18)}`;
}

interface Story {
  provider: Provider;
  jobId: string;
  account: string;
  customerId: string;
  person: readonly [string, string];
  start: Date;
  number: number;
  random: Random;
}

function email(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`;
}

function newStory(provider: Provider, index: number, now: Date, random: Random): Story {
  return {
    provider,
    jobId: provider === 'cooledge' ? randomUUID() : bubbleId(random),
    account: pick(provider === 'cooledge' ? cooledgeBusinesses : zenbookerAccounts, random),
    customerId: provider === 'cooledge' ? randomUUID() : bubbleId(random),
    person: pick(people, random),
    // Each job's story happens in the three hours before now, so every time in it is past: an
    // event dated ahead of its receipt is quarantined, and a sample must show the happy path.
    start: new Date(now.getTime() - 3 * 3_600_000 + index * 1_000),
    number: 1000 + Math.floor(random() * 9000),
    random,
  };
}

const minutes = (date: Date, n: number) => new Date(date.getTime() + n * 60_000).toISOString();

export function cooledgeEvent(type: string, story: Story, step: number): Record<string, unknown> {
  const [name, phone] = story.person;
  const [description, details] = pick(work, story.random);
  const customer = {
    customer_id: story.customerId,
    customer_name: name,
    customer_email: email(name),
    customer_phone: phone,
    external_ghl_contact_id: null,
    external_ghl_opportunity_id: null,
  };
  const envelope = {
    version: 'v1',
    event_type: type,
    event_id: randomUUID(),
    business_id: story.account,
    // An hour apart: booked, then done after the booked window, then paid.
    occurred_at: minutes(story.start, step * 60),
  };
  switch (type) {
    case 'booking.created':
      return {
        ...envelope,
        booking_id: randomUUID(),
        job_id: story.jobId,
        booking_type: 'scheduled_job',
        status: 'confirmed',
        starts_at: minutes(story.start, 10),
        ends_at: minutes(story.start, 50),
        staff_ids: [randomUUID()],
        ...customer,
      };
    case 'job.completed':
      return {
        ...envelope,
        job_id: story.jobId,
        job_number: story.number,
        job_category_id: randomUUID(),
        status: 'completed',
        completed_at: envelope.occurred_at,
        description,
        work_details: details,
        ...customer,
      };
    case 'invoice.paid':
      return {
        ...envelope,
        invoice_id: randomUUID(),
        invoice_number: story.number,
        total: 462,
        payment_amount: 462,
        amount_paid_total: 462,
        amount_due: 0,
        status: 'paid',
        payment_method: 'card',
        job_id: story.jobId,
        paid_at: envelope.occurred_at,
        ...customer,
      };
    case 'lead.created':
      return {
        ...envelope,
        lead_id: randomUUID(),
        customer_id: null,
        name,
        email: email(name),
        phone,
        lead_type: 'inbound',
        source: 'api',
        status: 'new',
      };
    default:
      throw new Error(`no Cooledge sample for ${type}`);
  }
}

export function zenbookerEvent(type: string, story: Story): Record<string, unknown> {
  const [name, phone] = story.person;
  const status = { 'job.created': 'scheduled', 'job.started': 'started', 'job.completed': 'complete' }[type];
  // Scheduled from +10 to +100 minutes, started at +15, completed at +95: all in the past.
  const start = minutes(story.start, 10);
  const data: Record<string, unknown> = {
    id: story.jobId,
    job_number: String(story.number),
    status: status ?? 'scheduled',
    canceled: type === 'job.canceled',
    rescheduled: false,
    timezone: 'America/New_York',
    start_date: start,
    end_date: minutes(story.start, 100),
    estimated_duration_seconds: 7200,
    service_name: pick(services, story.random),
    customer: { id: story.customerId, name, email: email(name), phone },
    service_address: { formatted: pick(addresses, story.random) },
    job_notes: [{ text: 'Gate code 4421, dog in the backyard.' }],
    invoice: { id: bubbleId(story.random), status: 'unpaid', total: 240, subtotal: 240, amount_paid: 0 },
  };
  if (type === 'job.started' || type === 'job.completed') data.started_at = minutes(story.start, 15);
  if (type === 'job.completed') data.completed_at = minutes(story.start, 95);
  if (!(type in { 'job.created': 1, 'job.started': 1, 'job.completed': 1, 'job.canceled': 1 })) {
    throw new Error(`no Zenbooker sample for ${type}`);
  }
  return {
    account: story.account,
    webhook_id: bubbleId(story.random),
    event: type,
    type: 'job',
    retry_count: 0,
    data,
  };
}

function build(type: string, story: Story, step: number): Record<string, unknown> {
  return story.provider === 'cooledge' ? cooledgeEvent(type, story, step) : zenbookerEvent(type, story);
}

export interface PlanOptions {
  providers: readonly Provider[];
  count: number;
  /** Only this event type; default: one job.completed for a single event, job histories otherwise. */
  type?: string;
  duplicates: number;
  outOfOrder: boolean;
  random?: Random;
  now?: Date;
}

/**
 * The deliveries for one `send` run: `count` distinct events (providers taking turns, job by job),
 * each job's events newest first with `outOfOrder`, plus `round(count × duplicates)` second
 * deliveries placed somewhere after their first.
 */
export function plan(options: PlanOptions): Delivery[] {
  const random = options.random ?? Math.random;
  const now = options.now ?? new Date();
  const events: Delivery[] = [];
  let storyIndex = 0;
  while (events.length < options.count) {
    const provider = options.providers[storyIndex % options.providers.length] as Provider;
    const story = newStory(provider, storyIndex, now, random);
    storyIndex += 1;
    const types =
      options.type !== undefined
        ? [options.type]
        : options.count === 1
          ? ['job.completed']
          : stories[provider];
    const chapter = types.slice(0, options.count - events.length).map((type, step): Delivery => {
      const body = build(type, story, step);
      return {
        provider,
        body: JSON.stringify(body),
        eventType: type,
        jobId: type === 'lead.created' ? undefined : story.jobId,
        duplicate: false,
      };
    });
    events.push(...(options.outOfOrder ? chapter.reverse() : chapter));
  }

  const duplicateCount = Math.round(options.count * options.duplicates);
  const chosen = shuffle(
    events.map((_, i) => i),
    random,
  ).slice(0, duplicateCount);
  const out = [...events];
  for (const index of chosen.sort((a, b) => b - a)) {
    const original = events[index] as Delivery;
    const copy: Delivery = { ...original, duplicate: true, body: redelivery(original) };
    const at = index + 1 + Math.floor(random() * (out.length - index));
    out.splice(at, 0, copy);
  }
  return out;
}

/** Cooledge redelivers the same bytes (same event_id); Zenbooker resends with retry_count + 1. */
function redelivery(delivery: Delivery): string {
  if (delivery.provider === 'cooledge') return delivery.body;
  const body = JSON.parse(delivery.body) as Record<string, unknown>;
  return JSON.stringify({ ...body, retry_count: Number(body.retry_count ?? 0) + 1 });
}

/** Which provider a JSON body comes from, by its envelope; undefined when it is not clear. */
export function detectProvider(body: unknown): Provider | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.event_id === 'string' && typeof record.event_type === 'string') return 'cooledge';
  if (typeof record.event === 'string' && typeof record.data === 'object') return 'zenbooker';
  return undefined;
}
