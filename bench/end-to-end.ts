import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { eventPk } from '#adapters/dynamo-store';
import { jobChangesOf } from '#adapters/job-stream-records';
import { SqsQueue } from '#adapters/sqs-queue';
import type { JsonObject } from '#core/json';
import { readableEvent } from '#core/records';
import { eventKey as zenbookerEventKey } from '#providers/zenbooker';
import { queueDepth } from '../cli/redrive.ts';
import { createHandler as createIngest } from '../functions/ingest/app.ts';
import { jobStreamSoFar } from '../local/job-stream.ts';
import { startLocalServer } from '../local/server.ts';
import { createQueues, sqsClient } from '../local/stack.ts';
import { median, percentile, round, seeded, shuffle } from '../tools/stats.ts';
import type { ConsumerWorkerInput, ConsumerWorkerStats, WorkerMessage } from './lib/consumer-worker.ts';
import { type BenchStack, dynamoClient, freshTables } from './lib/local.ts';
import type { MarkerLog } from './lib/markers.ts';
import { benchCooledgeSecret, benchZenbookerToken, fixture, ingestDeps } from './lib/pipeline.ts';
import type { Delivery, SenderInput, SenderOutput } from './lib/sender.ts';

/**
 * End to end on the local stack: N deliveries over HTTP (the local API Gateway stand-in from
 * `local/server.ts` in front of the real ingest handler) → the SQS emulator → pollers that play
 * Lambda's event source mapping → the real consumer → DynamoDB Local. A tenth of the deliveries are
 * duplicates (Cooledge redeliveries, Zenbooker retries with `retry_count` bumped), all shuffled.
 * Afterwards both tables are read back and every event is accounted for.
 */

export interface EndToEndOptions {
  events: number;
  /** Deliveries in flight at once. */
  concurrency: number;
  /** Concurrent consumer instances (pollers), as the event source mapping would scale to. */
  consumers: number;
  duplicateRate: number;
  /** Fraction of consumer DynamoDB write attempts that fail (half below the SDK's retries, half above). */
  faultRate: number;
  /** Fraction of consumer invocations that die (a crash or a timeout) at a random moment mid-batch. */
  crashRate?: number;
  /**
   * When the queue is empty but the DLQ is not, put the dead letters back with the CLI's `redrive`,
   * as the operator paged by the DLQ alarm would.
   */
  redriveDeadLetters?: boolean;
  seed: number;
  visibilityTimeoutSeconds: number;
  /** Gives up waiting for the consumer after this long. */
  timeoutMs: number;
  /** Where to note the event-log records (dedupe markers) every distinct event leaves, to check later. */
  markers?: MarkerLog;
  progress?: (line: string) => void;
}

export interface EndToEndResult {
  sent: number;
  distinctEvents: number;
  accepted: number;
  rejected: Record<string, number>;
  stored: number;
  lost: number;
  appliedTwice: number;
  /** Cooledge jobs whose stored state is not their newest event's. */
  wrongFinalState: number;
  deadLettered: number;
  /** Messages the run put back from the DLQ with `redrive`. */
  redriven: number;
  leftInQueue: number;
  acceptedPerSecond: number;
  ingestLatencyP50Ms: number;
  ingestLatencyP99Ms: number;
  /** Time inside the ingest handler (what Lambda would bill), median. */
  ingestHandlerP50Ms: number;
  sendSeconds: number;
  /** From the first delivery until the last distinct event was stored. */
  lastJobStoredSeconds: number;
  providerAttempts: number;
  consumer: {
    invocations: number;
    /** Invocations made to die mid-batch (chaos). */
    crashes: number;
    averageBatchSize: number;
    invocationP50Ms: number;
    outcomes: Record<string, number>;
  };
  sqsRequestsPerEvent: Record<string, number>;
  dynamoRequestsPerEvent: number;
  writeUnitsPerEvent: number;
  /**
   * The jobs table's stream after the run, as the publish function would take it: its records
   * (every job write, stale fills included), the job change events they make, and the CPU time
   * `jobChangesOf` took per batch of 10 records (ms, median; the function's own work, without the
   * `PutEvents` call).
   */
  jobStream: {
    records: number;
    changes: number;
    /** Of `changes`, those an applied event made (`cause.outcome` `applied`); the rest, stale fills. */
    appliedChanges: number;
    changesCpuMsPerBatch: number;
  };
  /** Events recorded `applied` that name a job: each must be exactly one job change event caused by it. */
  appliedToJobs: number;
  faultsInjected: Record<string, number>;
}

interface Planned {
  delivery: Delivery;
  key: string;
  provider: 'cooledge' | 'zenbooker';
}

interface CooledgeJob {
  jobId: string;
  /** Event ids in occurrence order: the last is the newest. */
  events: string[];
}

function plan(options: EndToEndOptions, random: () => number) {
  const duplicates = Math.round(options.events * options.duplicateRate);
  const distinct = options.events - duplicates;
  const zenbookerCount = Math.round(distinct * 0.3);
  const cooledgeCount = distinct - zenbookerCount;
  const originals: Planned[] = [];
  const cooledgeJobs: CooledgeJob[] = [];
  const bodies = new Map<string, JsonObject>();

  // Cooledge: three events per job, each with its own occurrence time.
  const steps = [
    ['booking.created', undefined],
    ['job.completed', 'in_progress'],
    ['job.completed', 'completed'],
  ] as const;
  for (let i = 0; i < cooledgeCount; ) {
    const job: CooledgeJob = { jobId: randomUUID(), events: [] };
    const base = Date.parse('2026-06-01T00:00:00.000Z') + cooledgeJobs.length * 60_000;
    for (let s = 0; s < steps.length && i < cooledgeCount; s++, i++) {
      const [type, status] = steps[s] as (typeof steps)[number];
      const eventId = randomUUID();
      const body: JsonObject = {
        ...fixture('cooledge', type),
        event_id: eventId,
        job_id: job.jobId,
        occurred_at: new Date(base + s * 3_600_000).toISOString(),
        ...(status ? { status } : {}),
      };
      job.events.push(eventId);
      bodies.set(eventId, body);
      originals.push({
        delivery: { path: '/webhooks/cooledge', body: JSON.stringify(body), signed: true },
        key: eventId,
        provider: 'cooledge',
      });
    }
    cooledgeJobs.push(job);
  }
  // Zenbooker: one event per job (its order is receive order, which a shuffled run does not fix).
  const zenbookerPath = `/webhooks/zenbooker/${benchZenbookerToken}`;
  for (let i = 0; i < zenbookerCount; i++) {
    const base = fixture('zenbooker', i % 2 === 0 ? 'job.completed' : 'job.canceled');
    const body: JsonObject = {
      ...base,
      data: { ...(base.data as JsonObject), id: `1781604223917x${String(i).padStart(18, '0')}` },
    };
    const key = zenbookerEventKey(body);
    bodies.set(key, body);
    originals.push({
      delivery: { path: zenbookerPath, body: JSON.stringify(body), signed: false },
      key,
      provider: 'zenbooker',
    });
  }
  const all = [...originals];
  for (let d = 0; d < duplicates; d++) {
    const original = originals[Math.floor(random() * originals.length)] as Planned;
    if (original.provider === 'cooledge') {
      all.push(original);
    } else {
      // A Zenbooker retry: same delivery, `retry_count` bumped (the event key ignores it).
      const body = bodies.get(original.key) as JsonObject;
      const retry = { ...body, retry_count: Number(body.retry_count ?? 0) + 1 + d };
      all.push({ ...original, delivery: { ...original.delivery, body: JSON.stringify(retry) } });
    }
  }
  return { deliveries: shuffle(all, random), distinct: originals, cooledgeJobs };
}

function countSqs(client: SQSClient, counts: Map<string, number>) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchSqsCounter' },
  );
}

/** The operator's move: `npm run cli -- redrive` against this run's queues. Returns how many moved. */
async function redrive(
  stack: BenchStack,
  urls: { queueUrl: string; deadLetterQueueUrl: string },
): Promise<number> {
  const { main } = await import('../cli/main.ts');
  const out: string[] = [];
  const code = await main(
    [
      'redrive',
      '--json',
      '--queue-url',
      urls.queueUrl,
      '--dlq-url',
      urls.deadLetterQueueUrl,
      '--sqs-endpoint',
      stack.sqsEndpoint,
      '--dynamodb-endpoint',
      stack.dynamoEndpoint,
    ],
    { out: (t) => out.push(t), err: (t) => out.push(t), interactive: false, env: {} },
  );
  if (code !== 0) throw new Error(`redrive failed: ${out.join('').slice(0, 400)}`);
  return (JSON.parse(out.join('')) as { moved: number }).moved;
}

function startConsumerWorker(input: ConsumerWorkerInput) {
  const worker = new Worker(new URL('./lib/consumer-worker.ts', import.meta.url), { workerData: input });
  const progress = { done: 0, finishedAt: 0 };
  let failure: string | undefined;
  let stopped: ((stats: ConsumerWorkerStats) => void) | undefined;
  const result = new Promise<ConsumerWorkerStats>((resolve) => {
    stopped = resolve;
  });
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'progress')
      Object.assign(progress, { done: message.done, finishedAt: message.finishedAt });
    else if (message.type === 'stopped') stopped?.(message.stats);
    else failure = message.error;
  });
  worker.on('error', (error) => {
    failure = String(error);
  });
  return {
    progress,
    failed: () => failure !== undefined,
    async stop(): Promise<ConsumerWorkerStats> {
      if (failure) throw new Error(`consumer worker failed: ${failure}`);
      worker.postMessage({ type: 'stop' });
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('consumer worker did not stop')), 60_000).unref(),
      );
      try {
        return await Promise.race([result, timeout]);
      } finally {
        await worker.terminate();
      }
    },
  };
}

function runSender(input: SenderInput): Promise<SenderOutput> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./lib/sender.ts', import.meta.url), { workerData: input });
    worker.once('message', (message: { ok: boolean; result?: SenderOutput; error?: string }) => {
      if (message.ok && message.result) resolve(message.result);
      else reject(new Error(`sender failed: ${message.error}`));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

async function scanAll(
  doc: DynamoDBDocumentClient,
  table: string,
  projection: string,
  names: Record<string, string>,
) {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan(
    { client: doc },
    {
      TableName: table,
      ProjectionExpression: projection,
      ExpressionAttributeNames: names,
      ConsistentRead: true,
    },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

export async function runEndToEnd(stack: BenchStack, options: EndToEndOptions): Promise<EndToEndResult> {
  const say = options.progress ?? (() => {});
  const random = seeded(options.seed);
  const { deliveries, distinct, cooledgeJobs } = plan(options, random);
  const expectedKeys = new Set(distinct.map((p) => eventPk(p.provider, p.key)));

  const admin = dynamoClient(stack.dynamoEndpoint);
  const names = await freshTables(admin);
  options.markers?.add(names.eventsTable, expectedKeys);
  const sqsCounts = new Map<string, number>();
  const sqs = sqsClient(stack.sqsEndpoint);
  countSqs(sqs, sqsCounts);
  const urls = await createQueues(sqs, names, options.visibilityTimeoutSeconds);
  sqsCounts.clear();

  // Ingest: the real handler behind the local API Gateway stand-in, timed inside.
  const ingest = createIngest(ingestDeps(new SqsQueue(urls.queueUrl, sqs)));
  const handlerMs: number[] = [];
  const server = await startLocalServer({
    port: 0,
    handler: async (event) => {
      const started = performance.now();
      try {
        return await ingest(event);
      } finally {
        handlerMs.push(performance.now() - started);
      }
    },
  });

  // Consumer: in its own thread, as a separate function would be.
  const consumer = startConsumerWorker({
    dynamoEndpoint: stack.dynamoEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    queueUrl: urls.queueUrl,
    eventsTableName: names.eventsTable,
    jobsTableName: names.jobsTable,
    expected: expectedKeys.size,
    consumers: options.consumers,
    faultRate: options.faultRate,
    crashRate: options.crashRate ?? 0,
    seed: options.seed + 1,
  });

  let sendResult: SenderOutput;
  let redriven = 0;
  try {
    say(
      `sending ${deliveries.length} deliveries (${expectedKeys.size} distinct) at concurrency ${options.concurrency}`,
    );
    sendResult = await runSender({
      baseUrl: server.url,
      deliveries: deliveries.map((d) => d.delivery),
      concurrency: options.concurrency,
      secret: benchCooledgeSecret,
      maxAttempts: 8,
    });
    say(
      `sent in ${((sendResult.endedAt - sendResult.startedAt) / 1000).toFixed(1)} s; waiting for the consumer`,
    );
    const deadline = Date.now() + options.timeoutMs;
    let lastReport = Date.now();
    let lastDlqCheck = Date.now();
    while (consumer.progress.finishedAt === 0 && !consumer.failed() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        say(`  ${consumer.progress.done}/${expectedKeys.size} stored`);
      }
      if (options.redriveDeadLetters && Date.now() - lastDlqCheck > 5_000) {
        lastDlqCheck = Date.now();
        if (
          (await queueDepth(sqs, urls.queueUrl)) === 0 &&
          (await queueDepth(sqs, urls.deadLetterQueueUrl)) > 0
        ) {
          const moved = await redrive(stack, urls);
          redriven += moved;
          say(`  redrove ${moved} message(s) from the DLQ`);
        }
      }
    }
    // Let failed records that are waiting out their visibility timeout settle before counting; with
    // `redriveDeadLetters`, also put back what reached the DLQ (already stored or not) until it stays empty.
    const settleMs = (options.redriveDeadLetters ? 20 : 3) * options.visibilityTimeoutSeconds * 1000 + 2_000;
    const settle = Date.now() + settleMs;
    while (Date.now() < settle) {
      const waiting = await queueDepth(sqs, urls.queueUrl);
      const dead = options.redriveDeadLetters ? await queueDepth(sqs, urls.deadLetterQueueUrl) : 0;
      if (waiting === 0 && dead === 0) break;
      if (waiting === 0 && dead > 0) {
        const moved = await redrive(stack, urls);
        redriven += moved;
        say(`  redrove ${moved} message(s) from the DLQ`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await server.close(2_000);
  }
  const stats = await consumer.stop();

  // Read everything back.
  const doc = DynamoDBDocumentClient.from(admin);
  const events = await scanAll(doc, names.eventsTable, '#pk, #outcome, #entityIds, #provider', {
    '#pk': 'pk',
    '#outcome': 'outcome',
    '#entityIds': 'entityIds',
    '#provider': 'provider',
  });
  const jobs = await scanAll(doc, names.jobsTable, '#pk, #eventCount, #lastEventKey, #provider, #jobId', {
    '#pk': 'pk',
    '#eventCount': 'eventCount',
    '#lastEventKey': 'lastEventKey',
    '#provider': 'provider',
    '#jobId': 'jobId',
  });
  const storedKeys = new Set(events.map((e) => e.pk as string));
  const stored = [...expectedKeys].filter((k) => storedKeys.has(k)).length;
  const appliedByJob = new Map<string, number>();
  for (const e of events.map(readableEvent)) {
    const jobId = (e.entityIds as Record<string, string> | undefined)?.job_id;
    if (e.outcome === 'applied' && jobId) {
      const k = `${e.provider}#${jobId}`;
      appliedByJob.set(k, (appliedByJob.get(k) ?? 0) + 1);
    }
  }
  let appliedTwice = 0;
  for (const job of jobs) {
    appliedTwice += Math.max(0, Number(job.eventCount ?? 0) - (appliedByJob.get(job.pk as string) ?? 0));
  }
  const jobByPk = new Map(jobs.map((j) => [j.pk as string, j]));
  const wrongFinalState = cooledgeJobs.filter((job) => {
    const stored = jobByPk.get(`cooledge#${job.jobId}`);
    return stored?.lastEventKey !== job.events[job.events.length - 1];
  }).length;

  const accepted = sendResult.statuses.filter((s) => s === 202).length;
  const rejected: Record<string, number> = {};
  for (const s of sendResult.statuses) if (s !== 202) rejected[String(s)] = (rejected[String(s)] ?? 0) + 1;
  const latencies = sendResult.latencies;
  const sendSeconds = (sendResult.endedAt - sendResult.startedAt) / 1000;
  for (const [name, n] of Object.entries(stats.sqsRequests))
    sqsCounts.set(name, (sqsCounts.get(name) ?? 0) + n);
  const invocations = stats.invocations;
  const sent = deliveries.length;
  const result: EndToEndResult = {
    sent,
    distinctEvents: expectedKeys.size,
    accepted,
    rejected,
    stored,
    lost: expectedKeys.size - stored,
    appliedTwice,
    wrongFinalState,
    deadLettered: await queueDepth(sqs, urls.deadLetterQueueUrl),
    redriven,
    leftInQueue: await queueDepth(sqs, urls.queueUrl),
    acceptedPerSecond: round(accepted / sendSeconds),
    ingestLatencyP50Ms: round(percentile(latencies, 50)),
    ingestLatencyP99Ms: round(percentile(latencies, 99)),
    ingestHandlerP50Ms: round(median(handlerMs)),
    sendSeconds: round(sendSeconds),
    lastJobStoredSeconds:
      stats.finishedAt === 0 ? Number.NaN : round((stats.finishedAt - sendResult.startedAt) / 1000),
    providerAttempts: sendResult.attempts,
    consumer: {
      invocations: invocations.length,
      crashes: stats.crashes,
      averageBatchSize: round(invocations.reduce((n, i) => n + i.size, 0) / Math.max(1, invocations.length)),
      invocationP50Ms: round(median(invocations.map((i) => i.ms))),
      outcomes: stats.outcomes,
    },
    sqsRequestsPerEvent: Object.fromEntries([...sqsCounts].map(([k, v]) => [k, round(v / sent)])),
    dynamoRequestsPerEvent: round(stats.dynamoRequests / expectedKeys.size),
    writeUnitsPerEvent: round(stats.writeUnits / expectedKeys.size),
    faultsInjected: stats.faultsInjected,
    jobStream: await measureJobStream(admin, stack.dynamoEndpoint, names.jobsTable),
    appliedToJobs: [...appliedByJob.values()].reduce((sum, n) => sum + n, 0),
  };
  sqs.destroy();
  admin.destroy();
  return result;
}

/** The jobs table's stream as the publish function would take it, batches of 10 (see the figure). */
async function measureJobStream(
  admin: DynamoDBClient,
  endpoint: string,
  tableName: string,
): Promise<EndToEndResult['jobStream']> {
  const streams = new DynamoDBStreamsClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const records = await jobStreamSoFar({ dynamo: admin, streams, tableName, timeoutMs: 60_000 });
    let changes = 0;
    let appliedChanges = 0;
    const cpuMs: number[] = [];
    for (let i = 0; i < records.length; i += 10) {
      const started = process.cpuUsage();
      const batch = jobChangesOf(records.slice(i, i + 10));
      const used = process.cpuUsage(started);
      cpuMs.push((used.user + used.system) / 1000);
      changes += batch.length;
      appliedChanges += batch.filter((change) => change.detail.cause.outcome === 'applied').length;
    }
    return {
      records: records.length,
      changes,
      appliedChanges,
      changesCpuMsPerBatch: round(median(cpuMs)),
    };
  } finally {
    streams.destroy();
  }
}

/** `tsx bench/end-to-end.ts [events] [concurrency] [faultRate]`: this part alone. */
if (import.meta.main) {
  const { startBenchStack } = await import('./lib/local.ts');
  const stack = await startBenchStack({ sqs: true });
  try {
    const result = await runEndToEnd(stack, {
      events: Number(process.argv[2] ?? 1000),
      concurrency: Number(process.argv[3] ?? 16),
      consumers: Number(process.argv[5] ?? 4),
      duplicateRate: 0.1,
      faultRate: Number(process.argv[4] ?? 0),
      seed: 1,
      visibilityTimeoutSeconds: Number(process.argv[4] ?? 0) > 0 ? 5 : 30,
      timeoutMs: 600_000,
      progress: (line) => console.log(line),
    });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await stack.stop();
  }
}
