import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoEventStore } from '#adapters/dynamo-store';
import {
  type ConsumeDeps,
  consume,
  type EventStore,
  PermanentStoreError,
  type StoreResult,
} from '#core/consume';
import type { JsonObject } from '#core/json';
import { MemoryEventStore } from '#core/memory-store';
import type { QueueMessage } from '#core/message';
import type { Provider } from '#core/provider';
import { eventPk, type Item } from '#core/records';
import { providers } from '#providers/index';
import { eventKey as zenbookerKey } from '#providers/zenbooker';
import { replayMessage } from '../../cli/replay.ts';
import { createTables, dynamoClient, type ResourceNames, resourceNames } from '../../local/stack.ts';
import { cooledgeEvent } from '../support/factories.ts';
import { fixture } from '../support/fixtures.ts';
import { cooledgeTypedEvent, zenbookerStage, zenbookerStageEvent } from '../support/lifecycles.ts';
import { testProvider } from '../support/test-provider.ts';

/**
 * Model-based test of the stores: the same random sequences of deliveries, redeliveries, second
 * bodies under a known key, replays, records passing the dedupe horizon, deliveries the store
 * refuses for good and concurrent copies run through the consumer (`consume`, as in production)
 * against the reference `MemoryEventStore` and against `DynamoEventStore` on DynamoDB Local. Every
 * step must answer the same and leave the same records, item for item (timestamps included: both
 * run on the same clock). Concurrent deliveries must match one of the orders the reference can take
 * them in. `STORE_MODEL_RUNS` sets the runs (`npm run chaos` runs thousands).
 */
const runs = Number(process.env.STORE_MODEL_RUNS ?? 30);
const maxCommands = Number(process.env.STORE_MODEL_COMMANDS ?? 24);
/** A run is two fresh tables and up to `maxCommands` steps, each read back whole: 0.1 to 0.3 s. */
const timeout = Math.max(60_000, runs * 2_000);

const served: ReadonlyMap<string, Provider> = new Map<string, Provider>([
  ...providers,
  ['test', testProvider as unknown as Provider],
]);

// ---------------------------------------------------------------------------------------------
// The deliveries of a run: a few jobs' histories and some events that touch no job
// ---------------------------------------------------------------------------------------------

/** One event a run can deliver: its body, and another body under the same key when it has one. */
interface Entry {
  label: string;
  provider: string;
  eventKey: string;
  eventType: string;
  raw: string;
  variant: string | undefined;
  /** Names a job: the store's `apply` (the rest only `record`). */
  job: boolean;
  /** A Zenbooker body: a redelivery bumps `retry_count`, under the same key. */
  retryable: boolean;
}

/** Few times, so ties are frequent; minutes before the run starts. */
const minute = fc.integer({ min: 0, max: 3 });
const letter = fc.constantFrom('a', 'b', 'c', 'd', 'e');

const cooledgeSpec = fc.record({
  key: letter,
  type: fc.constantFrom('job.completed', 'booking.created', 'invoice.paid'),
  minute,
  status: fc.constantFrom('scheduled', 'in_progress', 'completed'),
  description: fc.constantFrom('first visit', 'done', null),
  name: fc.constantFrom('Priya Nair', 'P. Nair', null),
  business: fc.constantFrom('biz-a', 'biz-a', 'biz-a', 'biz-a', 'biz-b'),
});

const zenbookerSpec = fc.record({
  stage: zenbookerStage,
  /** Whether the body carries its stage's own time; without one, the receive time orders it. */
  stageTime: fc.boolean(),
  minute,
  note: fc.constantFrom('n1', 'n2', 'n3'),
  account: fc.constantFrom('acct-1', 'acct-1', 'acct-1', 'acct-2'),
});

/** The test provider: events with or without an account, with or without a time. */
const testSpec = fc.record({
  key: letter,
  account: fc.constantFrom(undefined, 'acct-x', 'acct-x', 'acct-y'),
  minute: fc.option(minute, { nil: undefined }),
  status: fc.constantFrom('scheduled', 'started', 'completed'),
  total: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
});

const scenario = fc.record({
  cooledge: fc.array(cooledgeSpec, { minLength: 1, maxLength: 5 }),
  zenbooker: fc.array(zenbookerSpec, { maxLength: 3 }),
  test: fc.array(testSpec, { maxLength: 3 }),
  extras: fc.subarray(['lead', 'quarantined', 'unreadable', 'elsewhere'] as const),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function entries(spec: Scenario, base: number): Entry[] {
  const at = (m: number) => new Date(base - 3_600_000 + m * 600_000).toISOString();
  const out: Entry[] = [];
  const json = (body: unknown) => JSON.stringify(body);
  spec.cooledge.forEach((c, i) => {
    const own = {
      event_id: `evt-${c.key}`,
      job_id: 'C-1',
      business_id: c.business,
      occurred_at: at(c.minute),
      customer_name: c.name,
    };
    const body = cooledgeTypedEvent(c.type, own, c);
    out.push({
      label: `cooledge#${i}`,
      provider: 'cooledge',
      eventKey: own.event_id,
      eventType: c.type,
      raw: json(body),
      variant: json({ ...body, description: 'another body' }),
      job: true,
      retryable: false,
    });
  });
  spec.zenbooker.forEach((z, i) => {
    const time = z.stageTime ? at(z.minute) : null;
    const body = zenbookerStageEvent(z, time);
    out.push({
      label: `zenbooker#${i}`,
      provider: 'zenbooker',
      eventKey: zenbookerKey(body),
      eventType: z.stage.event,
      raw: json(body),
      variant: undefined,
      job: true,
      retryable: true,
    });
  });
  spec.test.forEach((t, i) => {
    const body: JsonObject = {
      id: `t-${t.key}`,
      type: 'job.updated',
      ...(t.account === undefined ? {} : { account: t.account }),
      ...(t.minute === undefined ? {} : { at: at(t.minute) }),
      job: { id: 'T-1', status: t.status, ...(t.total === undefined ? {} : { total: t.total }) },
    };
    out.push({
      label: `test#${i}`,
      provider: 'test',
      eventKey: body.id as string,
      eventType: 'job.updated',
      raw: json(body),
      variant: json({ ...body, job: { id: 'T-1', status: 'another body' } }),
      job: true,
      retryable: false,
    });
  });
  for (const extra of spec.extras) {
    if (extra === 'lead') {
      const body = { ...fixture('cooledge', 'lead.created'), event_id: 'lead-1', occurred_at: at(0) };
      out.push(recordOnly(extra, 'cooledge', 'lead-1', json(body), json({ ...body, note: 'another body' })));
    } else if (extra === 'quarantined') {
      const body = cooledgeEvent('job.completed', { event_id: 'q-1', job_id: 12, occurred_at: at(0) });
      out.push(
        recordOnly(extra, 'cooledge', 'q-1', json(body), json({ ...body, description: 'another body' })),
      );
    } else if (extra === 'unreadable') {
      out.push(recordOnly(extra, 'cooledge', 'u-1', 'not json', 'still not json'));
    } else {
      out.push(recordOnly(extra, 'elsewhere', 'x-1', '{}', '{"another":"body"}'));
    }
  }
  return out;
}

function recordOnly(label: string, provider: string, key: string, raw: string, variant: string): Entry {
  return {
    label,
    provider,
    eventKey: key,
    eventType: 'job.completed',
    raw,
    variant,
    job: false,
    retryable: false,
  };
}

/** The queue message the ingest function would send for `raw`, received at `receivedAt`. */
function message(entry: Entry, raw: string, receivedAt: string): string {
  const queued: QueueMessage = {
    v: 1,
    provider: entry.provider,
    eventKey: entry.eventKey,
    eventType: entry.eventType,
    receivedAt,
    bodyBase64: Buffer.from(raw).toString('base64'),
    headers: { 'content-type': 'application/json' },
  };
  return JSON.stringify(queued);
}

// ---------------------------------------------------------------------------------------------
// The two systems
// ---------------------------------------------------------------------------------------------

interface Model {
  entries: Entry[];
  memory: MemoryEventStore;
  /** The clock: `base` plus one second per step, the same for both stores. */
  base: number;
  step: number;
}

interface Real {
  store: DynamoEventStore;
  doc: DynamoDBDocumentClient;
  names: ResourceNames;
}

/** Outcomes seen over the whole property, so a generator that stopped reaching one is noticed. */
const seen = new Map<string, number>();

let steps = 0;
/** Deliveries to DynamoDB that failed for a transient reason and were delivered again. */
let redeliveries = 0;
function tick(model: Model): Date {
  steps += 1;
  model.step += 1;
  return new Date(model.base + model.step * 1000);
}

/** While set, every DynamoDB request waits a few random milliseconds first (see `AtOnce`). */
let jitter = false;

/** Event keys whose `apply` the store refuses for good (as DynamoDB refuses an item too large). */
const refused = new Set<string>();

function deps(store: EventStore, now: Date): ConsumeDeps {
  return {
    providers: served,
    store: {
      record: (event, outcome) => store.record(event, outcome),
      apply: (event, job) =>
        refused.has(event.eventKey)
          ? Promise.reject(new PermanentStoreError('ValidationException: refused for the model'))
          : store.apply(event, job),
    },
    clock: () => now,
    dedupeHorizonDays: 30,
    eventTimeSkewSeconds: 300,
  };
}

/** The consumer against DynamoDB: a transient failure (a transaction conflict) is redelivered, as SQS would. */
async function consumeReal(body: string, real: Real, now: Date): Promise<StoreResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await consume(body, deps(real.store, now));
    } catch (error) {
      if (attempt >= 10) throw error;
      redeliveries += 1;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }
}

interface State {
  events: Record<string, Item>;
  jobs: Record<string, Item>;
}

function byPk(items: Iterable<[string, Item]>): Record<string, Item> {
  return Object.fromEntries([...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function modelState(memory: MemoryEventStore): State {
  const { events, jobs } = memory.snapshot();
  return { events: byPk(events), jobs: byPk(jobs) };
}

async function realState(real: Real): Promise<State> {
  const scan = async (table: string) => {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await real.doc.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...((out.Items ?? []) as Item[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return byPk(items.map((item) => [item.pk as string, item]));
  };
  return { events: await scan(real.names.eventsTable), jobs: await scan(real.names.jobsTable) };
}

async function expectSameState(model: Model, real: Real, step: string) {
  const state = modelState(model.memory);
  expect(await realState(real), `the records after ${step}`).toEqual(state);
  expectAccountsHeld(state, step);
}

/**
 * A job belongs to the first account an event names, and no event of another account changes it:
 * every event recorded `applied` or `stale` (a stale event may fill the job) that names an account
 * names its job's, and its job has that account.
 */
function expectAccountsHeld(state: State, step: string) {
  for (const [pk, record] of Object.entries(state.events)) {
    if (record.outcome !== 'applied' && record.outcome !== 'stale') continue;
    if (record.accountId === undefined) continue;
    const jobId = (record.entityIds as Record<string, string> | undefined)?.job_id;
    const job = state.jobs[`${pk.slice(0, pk.indexOf('#'))}#${jobId}`];
    expect(
      job?.accountId,
      `after ${step}: the account of the job ${record.outcome} event ${pk} went to`,
    ).toBe(record.accountId);
  }
}

function count(results: StoreResult[]) {
  for (const result of results) seen.set(result, (seen.get(result) ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

type Command = fc.AsyncCommand<Model, Real>;

const entryOf = (model: Readonly<Model>, index: number) =>
  model.entries[index % model.entries.length] as Entry;

/** Delivers an entry's body (again, if it was delivered before: a duplicate), one copy. */
class Deliver implements Command {
  constructor(
    readonly index: number,
    readonly how: 'body' | 'variant' | 'refused',
    readonly retry: number,
  ) {}
  check(model: Readonly<Model>) {
    const entry = entryOf(model, this.index);
    return this.how === 'variant' ? entry.variant !== undefined : this.how === 'refused' ? entry.job : true;
  }
  async run(model: Model, real: Real) {
    const entry = entryOf(model, this.index);
    const now = tick(model);
    let raw = this.how === 'variant' ? (entry.variant as string) : entry.raw;
    // A Zenbooker retry bumps `retry_count`: the same key, the same delivery.
    if (entry.retryable && this.retry > 0)
      raw = JSON.stringify({ ...JSON.parse(raw), retry_count: this.retry });
    const body = message(entry, raw, now.toISOString());
    if (this.how === 'refused') refused.add(entry.eventKey);
    try {
      const expected = await consume(body, deps(model.memory, now));
      const actual = await consumeReal(body, real, now);
      expect(actual, `the outcome of ${this}`).toBe(expected);
      count([actual]);
    } finally {
      refused.delete(entry.eventKey);
    }
    await expectSameState(model, real, String(this));
  }
  toString() {
    return `deliver(${this.index}, ${this.how}${this.retry > 0 ? `, retry ${this.retry}` : ''})`;
  }
}

/** Replays the record kept under an entry's key, as `cli replay` does. */
class Replay implements Command {
  constructor(readonly index: number) {}
  private stored(model: Readonly<Model>) {
    const entry = entryOf(model, this.index);
    const item = model.memory.snapshot().events.get(eventPk(entry.provider, entry.eventKey));
    return item && replayMessage(item);
  }
  check(model: Readonly<Model>) {
    return this.stored(model) !== undefined;
  }
  async run(model: Model, real: Real) {
    const body = JSON.stringify(this.stored(model));
    const now = tick(model);
    const expected = await consume(body, deps(model.memory, now));
    const actual = await consumeReal(body, real, now);
    expect(actual, `the outcome of ${this}`).toBe(expected);
    count([actual]);
    await expectSameState(model, real, String(this));
  }
  toString() {
    return `replay(${this.index})`;
  }
}

/** The record under an entry's key passes the dedupe horizon: DynamoDB's time to live deletes it. */
class Expire implements Command {
  constructor(readonly index: number) {}
  check(model: Readonly<Model>) {
    const entry = entryOf(model, this.index);
    return model.memory.snapshot().events.has(eventPk(entry.provider, entry.eventKey));
  }
  async run(model: Model, real: Real) {
    const entry = entryOf(model, this.index);
    const pk = eventPk(entry.provider, entry.eventKey);
    model.memory.expire(pk);
    await real.doc.send(new DeleteCommand({ TableName: real.names.eventsTable, Key: { pk } }));
    await expectSameState(model, real, String(this));
  }
  toString() {
    return `expire(${this.index})`;
  }
}

/**
 * Several deliveries at the same moment, as several consumers take them: copies of one body, or
 * different events (of the same jobs, often). DynamoDB must end as the reference does in one of
 * the orders the deliveries can be taken in, with the same outcomes.
 */
class AtOnce implements Command {
  constructor(readonly indexes: number[]) {}
  check() {
    return true;
  }
  async run(model: Model, real: Real) {
    const now = tick(model);
    // Labelled by body: two entries generated alike are one delivery sent twice.
    const labels = new Map<string, string>();
    const deliveries = this.indexes.map((index) => {
      const entry = entryOf(model, index);
      const body = message(entry, entry.raw, now.toISOString());
      if (!labels.has(body)) labels.set(body, entry.label);
      return { label: labels.get(body) as string, body };
    });
    // Each request a few random milliseconds late: the deliveries interleave in more ways.
    jitter = true;
    const actual = await Promise.all(deliveries.map((d) => consumeReal(d.body, real, now))).finally(() => {
      jitter = false;
    });
    count(actual);
    const outcomes = (results: StoreResult[], order: typeof deliveries) =>
      order.map((d, i) => `${d.label}: ${results[i]}`).sort();
    const state = await realState(real);
    const candidates = [];
    for (const order of orders(deliveries)) {
      const memory = model.memory.clone();
      const results: StoreResult[] = [];
      for (const d of order) results.push(await consume(d.body, deps(memory, now)));
      candidates.push({ memory, outcomes: outcomes(results, order), state: modelState(memory) });
    }
    const mine = outcomes(actual, deliveries);
    const match = candidates.find(
      (c) => isDeepStrictEqual(c.outcomes, mine) && isDeepStrictEqual(c.state, state),
    );
    if (!match) {
      // No order explains it: show the nearest (same outcomes, if any).
      const nearest = candidates.find((c) => isDeepStrictEqual(c.outcomes, mine)) ?? candidates[0];
      expect({ outcomes: mine, state }, `${this}: no order of the deliveries gives this`).toEqual({
        outcomes: nearest?.outcomes,
        state: nearest?.state,
      });
      return;
    }
    model.memory = match.memory;
  }
  toString() {
    return `atOnce(${this.indexes.join(', ')})`;
  }
}

/** Every distinct order of the deliveries (copies of one body are one order). */
function orders<T extends { body: string }>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  const seenFirst = new Set<string>();
  return items.flatMap((item, i) => {
    if (seenFirst.has(item.body)) return [];
    seenFirst.add(item.body);
    return orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]);
  });
}

const index = fc.nat({ max: 99 });
const deliver = fc.tuple(index, fc.nat({ max: 2 })).map(([i, retry]) => new Deliver(i, 'body', retry));
const commands = fc.commands(
  [
    // Weighted by repetition: plain deliveries (first ones, and redeliveries) most of all.
    deliver,
    deliver,
    deliver,
    deliver,
    index.map((i) => new Deliver(i, 'variant', 0)),
    index.map((i) => new Deliver(i, 'refused', 0)),
    index.map((i) => new Replay(i)),
    index.map((i) => new Replay(i)),
    index.map((i) => new Expire(i)),
    fc.tuple(index, fc.integer({ min: 2, max: 4 })).map(([i, n]) => new AtOnce(Array(n).fill(i))),
    fc.array(index, { minLength: 2, maxLength: 3 }).map((indexes) => new AtOnce(indexes)),
    fc.array(index, { minLength: 2, maxLength: 3 }).map((indexes) => new AtOnce(indexes)),
  ],
  { maxCommands, size: 'max' },
);

// ---------------------------------------------------------------------------------------------

describe('model: DynamoEventStore decides as the reference store does', () => {
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  beforeAll(() => {
    client = dynamoClient(inject('dynamoEndpoint'));
    client.middlewareStack.add(
      (next) => async (args) => {
        if (jitter) await new Promise((resolve) => setTimeout(resolve, Math.random() * 6));
        return next(args);
      },
      { step: 'initialize', name: 'jitter' },
    );
    doc = DynamoDBDocumentClient.from(client);
  });
  afterAll(() => client.destroy());

  it(
    `answers and stores the same for random deliveries, duplicates, conflicts, replays, expiries and concurrent copies (${runs} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, commands, async (spec, cmds) => {
          const names = resourceNames(`m${randomBytes(4).toString('hex')}`);
          await createTables(client, names);
          try {
            const base = Date.now() - 60_000;
            await fc.asyncModelRun(
              async () => ({
                model: { entries: entries(spec, base), memory: new MemoryEventStore(), base, step: 0 },
                real: {
                  store: new DynamoEventStore({
                    eventsTableName: names.eventsTable,
                    jobsTableName: names.jobsTable,
                    client,
                  }),
                  doc,
                  names,
                },
              }),
              cmds,
            );
          } finally {
            await Promise.all(
              [names.eventsTable, names.jobsTable].map((TableName) =>
                client.send(new DeleteTableCommand({ TableName })),
              ),
            );
          }
        }),
        { numRuns: runs },
      );
      // A long run (`npm run chaos`) says what it covered.
      if (process.env.STORE_MODEL_RUNS !== undefined)
        console.log(
          `store model: ${steps} steps over ${runs} runs, ${redeliveries} redelivered; outcomes ${JSON.stringify(Object.fromEntries(seen))}`,
        );
      // The runs reached every outcome (a generator that stopped producing one would test less).
      if (runs >= 20) {
        for (const outcome of ['applied', 'stale', 'duplicate', 'conflict', 'recorded', 'unprocessable'])
          expect(seen.get(outcome) ?? 0, `runs that reached ${outcome}`).toBeGreaterThan(0);
      }
    },
    timeout,
  );
});

/**
 * The interleavings random runs rarely reach, forced: an event found behind its job is recorded
 * `stale` in a second round trip, and another consumer may move the job in between. A newer event
 * that lands in that gap must win as it would in the reference store, taking them one after the other.
 */
describe('races between the two round trips of a stale event', () => {
  let client: DynamoDBClient;
  /** The next request that `matches` waits until `first` has run. */
  let gate:
    | { matches: (command: string, input: string) => boolean; first: () => Promise<unknown> }
    | undefined;
  beforeAll(() => {
    client = dynamoClient(inject('dynamoEndpoint'));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const waiting = gate;
        if (waiting?.matches(context.commandName ?? '', JSON.stringify(args.input))) {
          gate = undefined;
          await waiting.first();
        }
        return next(args);
      },
      { step: 'initialize', name: 'gate' },
    );
  });
  afterAll(() => client.destroy());

  const at = (minute: number) => `2026-06-19T10:0${minute}:00.000Z`;
  const testEvent = (id: string, minute: number, job: JsonObject, account?: string): Entry => ({
    label: id,
    provider: 'test',
    eventKey: id,
    eventType: 'job.updated',
    raw: JSON.stringify({
      id,
      type: 'job.updated',
      at: at(minute),
      job: { id: 'T-1', ...job },
      ...(account ? { account } : {}),
    }),
    variant: undefined,
    job: true,
    retryable: false,
  });

  /**
   * `first` creates the job, then `late` (behind it) is delivered; just before `late` writes its
   * stale record and fill, `overtaking` is delivered to completion. The records must be those of
   * the reference store taking `first`, `overtaking`, `late` in that order.
   */
  async function race(first: Entry, late: Entry, overtaking: Entry) {
    const names = resourceNames(`r${randomBytes(4).toString('hex')}`);
    await createTables(client, names);
    try {
      const now = new Date();
      const received = now.toISOString();
      const real: Real = {
        store: new DynamoEventStore({
          eventsTableName: names.eventsTable,
          jobsTableName: names.jobsTable,
          client,
        }),
        doc: DynamoDBDocumentClient.from(client),
        names,
      };
      const model: Model = { entries: [], memory: new MemoryEventStore(), base: now.getTime(), step: 0 };
      const expected: StoreResult[] = [];
      for (const entry of [first, overtaking, late])
        expected.push(await consume(message(entry, entry.raw, received), deps(model.memory, now)));

      expect(await consumeReal(message(first, first.raw, received), real, now)).toBe('applied');
      let overtook: StoreResult | undefined;
      gate = {
        // The stale event's second round: its record written as stale (the fill goes with it).
        matches: (command, input) =>
          command === 'TransactWriteItemsCommand' &&
          input.includes(late.eventKey) &&
          input.includes('"stale"'),
        first: async () => {
          overtook = await consume(message(overtaking, overtaking.raw, received), deps(real.store, now));
        },
      };
      const lateResult = await consumeReal(message(late, late.raw, received), real, now);
      expect(gate, 'the race took place').toBeUndefined();
      expect([overtook, lateResult]).toEqual(expected.slice(1));
      await expectSameState(model, real, 'the race');
      return { job: modelState(model.memory).jobs['test#T-1'], late: lateResult };
    } finally {
      gate = undefined;
      await Promise.all(
        [names.eventsTable, names.jobsTable].map((TableName) =>
          client.send(new DeleteTableCommand({ TableName })),
        ),
      );
    }
  }

  it('fills nothing a newer event set in the meantime', async () => {
    const { job, late } = await race(
      testEvent('t-a', 2, { status: 'scheduled' }, 'acct-x'),
      testEvent('t-b', 1, { status: 'scheduled', total: 100 }, 'acct-x'),
      testEvent('t-c', 3, { status: 'completed', total: 200 }, 'acct-x'),
    );
    expect(late).toBe('stale');
    expect(job).toMatchObject({ status: 'completed', total: 200 });
    // Nothing was left to fill: no fill is counted, so no job change is published for it.
    expect(job?.fillCount).toBeUndefined();
  });

  it('fills nothing once the job has taken another account in the meantime', async () => {
    const { job, late } = await race(
      testEvent('t-a', 2, { status: 'scheduled' }),
      testEvent('t-b', 1, { status: 'scheduled', total: 100 }, 'acct-y'),
      testEvent('t-c', 3, { status: 'completed' }, 'acct-x'),
    );
    expect(late).toBe('unprocessable');
    expect(job).toMatchObject({ status: 'completed', accountId: 'acct-x' });
    expect(job?.total).toBeUndefined();
  });
});

describe('the round trips DynamoEventStore takes', () => {
  let client: DynamoDBClient;
  let names: ResourceNames;
  const sent: string[] = [];
  beforeAll(async () => {
    client = dynamoClient(inject('dynamoEndpoint'));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'count' },
    );
    names = resourceNames(`h${randomBytes(4).toString('hex')}`);
    await createTables(client, names);
  });
  afterAll(async () => {
    await Promise.all(
      [names.eventsTable, names.jobsTable].map((TableName) =>
        client.send(new DeleteTableCommand({ TableName })),
      ),
    );
    client.destroy();
  });

  /** The requests one delivery takes. */
  async function requests(raw: JsonObject) {
    const store = new DynamoEventStore({
      eventsTableName: names.eventsTable,
      jobsTableName: names.jobsTable,
      client,
    });
    const entry = {
      ...recordOnly('x', 'cooledge', raw.event_id as string, JSON.stringify(raw), ''),
      eventType: raw.event_type as string,
    };
    sent.length = 0;
    const now = new Date();
    const result = await consume(message(entry, entry.raw, now.toISOString()), deps(store, now));
    return { result, sent: [...sent] };
  }

  it('writes a new event of a job in one transaction, and a new event of no job in one put: no read first', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    expect(await requests(cooledgeEvent('job.completed', { job_id: 'H-1', occurred_at: at }))).toEqual({
      result: 'applied',
      sent: ['TransactWriteItemsCommand'],
    });
    expect(
      await requests({ ...fixture('cooledge', 'lead.created'), event_id: 'lead-h', occurred_at: at }),
    ).toEqual({
      result: 'recorded',
      sent: ['PutItemCommand'],
    });
  });
});
