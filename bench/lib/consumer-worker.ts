import { parentPort, workerData } from 'node:worker_threads';
import type { SQSEvent } from 'aws-lambda';
import { DynamoEventStore, eventPk } from '#adapters/dynamo-store';
import type { EventRecord, EventStore, JobWrite } from '#core/consume';
import { silentLogger } from '#core/ports';
import { providers } from '#providers/index';
import { createHandler as createConsumer } from '../../functions/consume/app.ts';
import { OutcomeTally, TallyMetrics } from '../../local/log.ts';
import { SqsPoller } from '../../local/poller.ts';
import { dynamoClient, sqsClient } from '../../local/stack.ts';
import { type FaultInjector, injectFaults, randomFaults } from '../../test/chaos/faults.ts';
import { seeded } from '../../tools/stats.ts';
import { probe } from './dynamo-probe.ts';

/**
 * The consumer side of the end-to-end run, in its own thread (its own event loop, as a separate
 * Lambda function would have): pollers playing the event source mapping, the real consumer handler
 * and store, on a DynamoDB client that may be made to fail.
 */

export interface ConsumerWorkerInput {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  eventsTableName: string;
  jobsTableName: string;
  expected: number;
  consumers: number;
  faultRate: number;
  /** Fraction of invocations that die at a random moment mid-batch (writes in flight carry on). */
  crashRate: number;
  seed: number;
}

export interface ConsumerWorkerStats {
  done: number;
  finishedAt: number;
  invocations: Array<{ ms: number; size: number }>;
  crashes: number;
  outcomes: Record<string, number>;
  sqsRequests: Record<string, number>;
  dynamoRequests: number;
  writeUnits: number;
  faultsInjected: Record<string, number>;
}

export type WorkerMessage =
  | { type: 'progress'; done: number; finishedAt: number }
  | { type: 'stopped'; stats: ConsumerWorkerStats }
  | { type: 'failed'; error: string };

/** Notes the moment every expected event has been stored (or found already stored). */
class TrackingStore implements EventStore {
  readonly done = new Set<string>();
  finishedAt = 0;
  constructor(
    private readonly inner: EventStore,
    private readonly expected: number,
  ) {}
  private note(event: EventRecord) {
    this.done.add(eventPk(event.provider, event.eventKey));
    if (this.finishedAt === 0 && this.done.size >= this.expected) this.finishedAt = Date.now();
  }
  async record(event: EventRecord, outcome: 'recorded' | 'quarantined') {
    const result = await this.inner.record(event, outcome);
    this.note(event);
    return result;
  }
  async apply(event: EventRecord, job: JobWrite) {
    const result = await this.inner.apply(event, job);
    this.note(event);
    return result;
  }
}

async function run(input: ConsumerWorkerInput, port: NonNullable<typeof parentPort>) {
  const random = seeded(input.seed);
  const dynamo = dynamoClient(input.dynamoEndpoint);
  const counter = probe(dynamo);
  const injectors: FaultInjector[] = [];
  if (input.faultRate > 0) {
    // Half below the SDK's retries (the SDK absorbs most), half above (the record fails, SQS redelivers).
    injectors.push(injectFaults(dynamo, randomFaults(input.faultRate / 2, random), { layer: 'sdk' }));
    injectors.push(injectFaults(dynamo, randomFaults(input.faultRate / 2, random), { layer: 'caller' }));
  }
  const store = new TrackingStore(
    new DynamoEventStore({
      eventsTableName: input.eventsTableName,
      jobsTableName: input.jobsTableName,
      client: dynamo,
    }),
    input.expected,
  );
  // Outcomes from the consumer's one log line per event: it publishes no metric for a healthy one.
  const outcomes = new OutcomeTally(silentLogger);
  const consumer = createConsumer({
    providers,
    store,
    clock: () => new Date(),
    dedupeHorizonDays: 30,
    eventTimeSkewSeconds: 300,
    logger: outcomes,
    metrics: new TallyMetrics(),
  });
  const invocations: ConsumerWorkerStats['invocations'] = [];
  let crashes = 0;
  const handler = async (event: SQSEvent) => {
    const started = performance.now();
    try {
      if (input.crashRate > 0 && random() < input.crashRate) {
        // The runtime dies (or times out) part-way through: whatever was sent still lands, nothing
        // is acknowledged, and the whole batch comes back after the visibility timeout.
        crashes += 1;
        const after = random() * 300;
        void consumer(event).catch(() => {});
        await new Promise((r) => setTimeout(r, after));
        throw new Error('Runtime exited: the invocation died mid-batch');
      }
      return await consumer(event);
    } finally {
      invocations.push({ ms: performance.now() - started, size: event.Records.length });
    }
  };
  const sqsRequests = new Map<string, number>();
  const sqs = sqsClient(input.sqsEndpoint);
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      sqsRequests.set(name, (sqsRequests.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchSqsCounter' },
  );
  const pollers = Array.from(
    { length: input.consumers },
    () => new SqsPoller({ client: sqs, queueUrl: input.queueUrl, handler, waitTimeSeconds: 1 }),
  );
  for (const poller of pollers) poller.start();
  const progress = setInterval(() => {
    port.postMessage({
      type: 'progress',
      done: store.done.size,
      finishedAt: store.finishedAt,
    } satisfies WorkerMessage);
  }, 200);

  await new Promise<void>((resolve) => {
    port.on('message', (message: { type: string }) => {
      if (message.type === 'stop') resolve();
    });
  });
  clearInterval(progress);
  await Promise.all(pollers.map((p) => p.stop()));
  const faultsInjected: Record<string, number> = {};
  for (const injector of injectors) {
    for (const [kind, n] of Object.entries(injector.injected))
      faultsInjected[kind] = (faultsInjected[kind] ?? 0) + n;
  }
  const stats: ConsumerWorkerStats = {
    done: store.done.size,
    finishedAt: store.finishedAt,
    invocations,
    crashes,
    outcomes: Object.fromEntries(outcomes.counts),
    sqsRequests: Object.fromEntries(sqsRequests),
    dynamoRequests: counter.totalRequests(),
    writeUnits: counter.writeUnits,
    faultsInjected,
  };
  dynamo.destroy();
  sqs.destroy();
  port.postMessage({ type: 'stopped', stats } satisfies WorkerMessage);
}

if (parentPort && workerData) {
  const port = parentPort;
  run(workerData as ConsumerWorkerInput, port).catch((error: unknown) => {
    port.postMessage({ type: 'failed', error: String(error) } satisfies WorkerMessage);
  });
}
