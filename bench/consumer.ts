import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, ListTablesCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import pLimit from 'p-limit';
import { DynamoEventStore, eventPk } from '#adapters/dynamo-store';
import type { JsonObject } from '#core/json';
import type { Queue, QueueMessage } from '#core/message';
import { silentLogger } from '#core/ports';
import { consumerBatchSize, eventsTable } from '#infra/definitions';
import { providers } from '#providers/index';
import { createHandler as createConsumer } from '../functions/consume/app.ts';
import { createHandler as createIngest } from '../functions/ingest/app.ts';
import { sqsRecord } from '../local/poller.ts';
import { median, round } from '../tools/stats.ts';
import { probe } from './lib/dynamo-probe.ts';
import { dynamoClient, freshTables, itemBytes, startBenchStack } from './lib/local.ts';
import type { MarkerLog } from './lib/markers.ts';
import {
  cooledgeRequest,
  fixture,
  ingestDeps,
  largeZenbooker,
  noMetrics,
  zenbookerRequest,
} from './lib/pipeline.ts';

/**
 * Consumer throughput against DynamoDB Local: the real consumer handler on SQS batches of 10, run
 * by a few concurrent "instances", counting DynamoDB requests and the write units DynamoDB Local
 * reports. The floor replays the very `TransactWriteItems` requests the consumer made (same items,
 * same conditions) on fresh tables, with the same concurrency: DynamoDB Local's own speed. With
 * `via`, the consumer and the floor reach DynamoDB Local through that endpoint (the latency proxy)
 * while tables are created directly.
 */

export interface ConsumerOptions {
  eventsPerRun: number;
  repeats: number;
  /** Concurrent consumer instances, each handling one batch at a time. */
  instances: number;
  /** The endpoint the consumer and the floor send their requests to (default: DynamoDB Local's). */
  via?: string;
  /** Where to note the event-log records (dedupe markers) the runs write, to check them afterwards. */
  markers?: MarkerLog;
}

export interface ConsumerFigure {
  payload: string;
  eventsPerSecond: number;
  floorEventsPerSecond: number;
  /** Median of the per-repeat ratios consumer / floor. */
  ratio: number;
  requestsPerEvent: number;
  writeUnitsPerEvent: number;
  /** Median wall time of one batch invocation. */
  batchMs: number;
  batchSize: number;
  requestsByOperation: Record<string, number>;
  /** Write units per event by table and index (the insert and update mix described above). */
  writeUnitsByTarget: Record<string, number>;
  /**
   * Event log item size by DynamoDB's rules, and its entry in the `byProvider` index (+100 bytes;
   * 0 for a record the index does not hold).
   */
  eventItemBytes: number;
  eventIndexBytes: number;
}

class CollectingQueue implements Queue {
  readonly messages: QueueMessage[] = [];
  async send(message: QueueMessage) {
    this.messages.push(message);
  }
}

type Payload = 'cooledge' | 'zenbooker';

/**
 * New events for `count / 2` jobs, two events per job (an insert, then an update), made by the real
 * ingest function so the messages are exactly what the consumer receives.
 */
async function messages(payload: Payload, count: number): Promise<QueueMessage[][]> {
  const queue = new CollectingQueue();
  // Receive times from an hour ago: the event log records expire a horizon after them, so the
  // dedupe markers outlive the run, and every event's own time lies before its receipt (an event
  // dated ahead of the clock is quarantined, not applied).
  const start = Date.now() - 3_600_000;
  let tick = start;
  const clock = () => {
    tick += 1000;
    return new Date(tick);
  };
  const ingest = createIngest(ingestDeps(queue, { clock }));
  const jobs = Array.from({ length: Math.ceil(count / 2) }, () => randomUUID());
  for (const [step, status] of [
    [0, 'scheduled'],
    [1, 'completed'],
  ] as const) {
    for (const jobId of jobs) {
      if (queue.messages.length >= count) break;
      let body: JsonObject;
      if (payload === 'cooledge') {
        body = {
          ...fixture('cooledge', 'job.completed'),
          event_id: randomUUID(),
          job_id: jobId,
          status,
          occurred_at: new Date(start - 600_000 + step * 60_000).toISOString(),
        };
      } else {
        const base = largeZenbooker();
        body = { ...base, data: { ...(base.data as JsonObject), id: jobId, status } };
      }
      const raw = JSON.stringify(body);
      const now = clock();
      const response = await ingest(
        payload === 'cooledge' ? cooledgeRequest(raw, now) : zenbookerRequest(raw),
      );
      if (response.statusCode !== 202) throw new Error(`ingest answered ${response.statusCode}`);
    }
  }
  // Inserts first, then updates, in separate batches: the figures measure the applied path only.
  const batches: QueueMessage[][] = [];
  for (let i = 0; i < queue.messages.length; i += consumerBatchSize) {
    batches.push(queue.messages.slice(i, i + consumerBatchSize));
  }
  return batches;
}

function sqsEvent(batch: QueueMessage[]): SQSEvent {
  return {
    Records: batch.map((message) => sqsRecord({ messageId: randomUUID(), body: JSON.stringify(message) })),
  };
}

/**
 * The floor: the captured transactions, bare (no consumer code, already marshalled), on fresh
 * tables, ten at a time per instance as the consumer sends them.
 */
async function replay(
  via: string,
  admin: DynamoDBClient,
  captured: ReadonlyArray<Record<string, unknown>>,
  instances: number,
): Promise<{ seconds: number; count: number }> {
  const names = await freshTables(admin, { streams: false });
  const rename = (table: string | undefined) =>
    table?.endsWith('-events') ? names.eventsTable : table?.endsWith('-jobs') ? names.jobsTable : table;
  const commands = captured.map((input) => {
    const items = (input.TransactItems as Array<Record<string, { TableName?: string }>>).map((item) =>
      Object.fromEntries(
        Object.entries(item).map(([kind, op]) => [kind, { ...op, TableName: rename(op.TableName) }]),
      ),
    );
    return new TransactWriteItemsCommand({ TransactItems: items } as never);
  });
  const batches = Array.from({ length: Math.ceil(commands.length / consumerBatchSize) }, (_, i) =>
    commands.slice(i * consumerBatchSize, (i + 1) * consumerBatchSize),
  );
  const client = dynamoClient(via);
  const started = performance.now();
  await pLimit(instances).map(batches, (batch) => Promise.all(batch.map((command) => client.send(command))));
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  return { seconds, count: commands.length };
}

/** The attributes the events table's index copies: its keys, the table key, and the projected ones. */
function projected<T>(item: Record<string, T>): Record<string, T> {
  const index = eventsTable.globalSecondaryIndexes[0];
  const kept = new Set<string>([
    eventsTable.partitionKey.name,
    index.partitionKey.name,
    index.sortKey.name,
    ...(('nonKeyAttributes' in index ? index.nonKeyAttributes : Object.keys(item)) as readonly string[]),
  ]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
}

/**
 * Median time of one small request (`ListTables`, after a warm-up) from a fresh client to
 * `endpoint`: through the latency proxy minus directly, the round trip the proxy adds.
 */
export async function requestMs(endpoint: string, count = 40): Promise<number> {
  const client = dynamoClient(endpoint);
  const times: number[] = [];
  for (let i = 0; i < count + 5; i++) {
    const started = performance.now();
    await client.send(new ListTablesCommand({ Limit: 1 }));
    if (i >= 5) times.push(performance.now() - started);
  }
  client.destroy();
  return median(times);
}

export async function benchConsumer(
  dynamoEndpoint: string,
  options: ConsumerOptions,
): Promise<ConsumerFigure[]> {
  const figures: ConsumerFigure[] = [];
  const admin = dynamoClient(dynamoEndpoint);
  const via = options.via ?? dynamoEndpoint;
  for (const payload of ['cooledge', 'zenbooker'] as const) {
    const rates: number[] = [];
    const floors: number[] = [];
    const ratios: number[] = [];
    const batchMs: number[] = [];
    const requests: number[] = [];
    const units: number[] = [];
    let byOperation: Record<string, number> = {};
    let byTarget: Record<string, number> = {};
    const itemSizes: number[] = [];
    const indexSizes: number[] = [];
    let batchSize = 0;
    let previous: Array<Record<string, unknown>> = [];
    for (let r = 0; r < options.repeats + 1; r++) {
      // Repeat 0 warms up the JIT and DynamoDB Local and is not counted.
      const warm = r === 0;
      const batches = await messages(payload, options.eventsPerRun);
      const events = batches.reduce((n, b) => n + b.length, 0);
      batchSize = events / batches.length;

      const client = dynamoClient(via);
      const counter = probe(client);
      counter.capture = true;
      const names = await freshTables(admin, { streams: false });
      const consumer = createConsumer({
        providers,
        store: new DynamoEventStore({
          eventsTableName: names.eventsTable,
          jobsTableName: names.jobsTable,
          client,
        }),
        clock: () => new Date(),
        dedupeHorizonDays: 30,
        eventTimeSkewSeconds: 300,
        logger: silentLogger,
        metrics: noMetrics,
      });
      const sqsEvents = batches.map(sqsEvent);
      const runConsumer = async () => {
        const started = performance.now();
        const perBatch = await pLimit(options.instances).map(sqsEvents, async (event) => {
          const t = performance.now();
          const response = await consumer(event);
          if (response.batchItemFailures.length > 0) throw new Error('a record failed in the benchmark');
          return performance.now() - t;
        });
        return { seconds: (performance.now() - started) / 1000, perBatch };
      };
      // Odd repeats replay the previous repeat's transactions before the consumer runs, even ones
      // replay this repeat's after it: neither side always gets the warmer DynamoDB Local.
      let floor: { seconds: number; count: number };
      let run: { seconds: number; perBatch: number[] };
      if (r % 2 === 1 && previous.length > 0) {
        floor = await replay(via, admin, previous, options.instances);
        run = await runConsumer();
      } else {
        run = await runConsumer();
        floor = await replay(via, admin, counter.transactions, options.instances);
      }
      options.markers?.add(
        names.eventsTable,
        batches.flat().map((m) => eventPk(m.provider, m.eventKey)),
      );
      previous = [...counter.transactions];
      for (const input of counter.transactions) {
        const put = (input.TransactItems as Array<{ Put?: { Item: Record<string, never> } }>)[0]?.Put;
        if (put) {
          itemSizes.push(itemBytes(put.Item));
          // Only an item with the index's partition key is in it (records that need attention).
          const index = eventsTable.globalSecondaryIndexes[0];
          indexSizes.push(index.partitionKey.name in put.Item ? itemBytes(projected(put.Item)) + 100 : 0);
        }
      }
      const seconds = run.seconds;
      const perBatch = run.perBatch;
      const floorSeconds = floor.seconds;
      client.destroy();
      if (warm) continue;

      rates.push(events / seconds);
      floors.push(floor.count / floorSeconds);
      ratios.push(events / seconds / (floor.count / floorSeconds));
      batchMs.push(...perBatch);
      requests.push(counter.totalRequests() / events);
      units.push(counter.writeUnits / events);
      byOperation = Object.fromEntries([...counter.requests].map(([k, v]) => [k, round(v / events)]));
      byTarget = Object.fromEntries([...counter.writeUnitsByTarget].map(([k, v]) => [k, round(v / events)]));
    }
    figures.push({
      payload: payload === 'cooledge' ? 'Cooledge job.completed (small)' : 'Zenbooker job.completed (large)',
      eventsPerSecond: round(median(rates)),
      floorEventsPerSecond: round(median(floors)),
      ratio: round(median(ratios)),
      requestsPerEvent: round(median(requests)),
      writeUnitsPerEvent: round(median(units)),
      batchMs: round(median(batchMs)),
      batchSize,
      requestsByOperation: byOperation,
      writeUnitsByTarget: byTarget,
      eventItemBytes: Math.round(median(itemSizes)),
      eventIndexBytes: Math.round(median(indexSizes)),
    });
  }
  admin.destroy();
  return figures;
}

if (import.meta.main) {
  const stack = await startBenchStack({ sqs: false });
  try {
    console.table(await benchConsumer(stack.dynamoEndpoint, { eventsPerRun: 200, repeats: 3, instances: 4 }));
  } finally {
    await stack.stop();
  }
}
