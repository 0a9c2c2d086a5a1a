import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { type Column, table as formatTable } from '../cli/format.ts';
import { round } from '../tools/stats.ts';
import { benchColdStart, bundles } from './cold-start.ts';
import { benchConsumer, requestMs } from './consumer.ts';
import { costPerMillion, deploymentTemplates, type MonthlyCost, monthlyCost, monthlyGoal } from './cost.ts';
import { runEndToEnd } from './end-to-end.ts';
import { benchIngestCpu } from './ingest-cpu.ts';
import { type LatencyProxyStats, startLatencyProxy } from './lib/latency-proxy.ts';
import { dynamoClient, startBenchStack } from './lib/local.ts';
import { currentLoad, machineInfo } from './lib/machine.ts';
import { type MarkerCheck, MarkerLog } from './lib/markers.ts';
import { benchTelemetry, logBytesPerDelivery, logBytesSource } from './telemetry.ts';

/**
 * `npm run bench [-- --events N --concurrency C --dynamo-latency-ms L --quick]`: every benchmark of
 * issue 5, a table on stdout, and `bench/results.json` with the figures and the machine they came
 * from. Exits non-zero when a dedupe marker written by the consumer runs or the end-to-end run is
 * gone (or already past its expiry) at the end: every other figure would then be measured on a
 * different workload.
 */

const values = new Command('npm run bench --')
  .option('--events <n>', 'end-to-end deliveries (default 10000, 1000 with --quick; env BENCH_EVENTS)')
  .option('--concurrency <n>', 'end-to-end deliveries in flight (default 16; env BENCH_CONCURRENCY)')
  .option(
    '--dynamo-latency-ms <ms>',
    'delay each way in front of DynamoDB Local for the per-instance consumer runs, 0 skips them (default 5; env BENCH_DYNAMO_LATENCY_MS)',
  )
  .option('--quick', 'fewer repeats, for a smoke run (env BENCH_QUICK=1)')
  .option('--out <file>', 'where the figures go (default bench/results.json)')
  .showSuggestionAfterError(true)
  .allowExcessArguments(false)
  .parse()
  .opts<{ events?: string; concurrency?: string; dynamoLatencyMs?: string; quick?: boolean; out?: string }>();
const quick = values.quick || process.env.BENCH_QUICK === '1';
const settings = {
  endToEndEvents: Number(values.events ?? process.env.BENCH_EVENTS ?? (quick ? 1_000 : 10_000)),
  endToEndConcurrency: Number(values.concurrency ?? process.env.BENCH_CONCURRENCY ?? 16),
  endToEndConsumers: 4,
  duplicateRate: 0.1,
  ingestRepeats: quick ? 5 : 15,
  ingestIterations: quick ? 1_000 : 3_000,
  coldStartRepeats: quick ? 5 : 15,
  consumerEventsPerRun: quick ? 100 : 400,
  consumerRepeats: quick ? 2 : 5,
  consumerInstances: 4,
  /** Consumer instances of the per-instance runs (directly, then through the latency proxy). */
  perInstanceRunInstances: 1,
  /** Added to every chunk in each direction between the per-instance run's consumer and DynamoDB Local. */
  dynamoLatencyMsEachWay: Number(values.dynamoLatencyMs ?? process.env.BENCH_DYNAMO_LATENCY_MS ?? 5),
};
if (!Number.isFinite(settings.dynamoLatencyMsEachWay) || settings.dynamoLatencyMsEachWay < 0) {
  console.error(`--dynamo-latency-ms must be a number of milliseconds ≥ 0`);
  process.exit(2);
}
const outFile = values.out ?? join(import.meta.dirname, 'results.json');

interface Goal {
  figure: string;
  value: string;
  goal: string;
  met: boolean;
}

/**
 * The CLI's table (cli/format.ts) of flat records: one column per key of the first row, titled by
 * the key, objects as JSON, no cell cut short; without the trailing newline, as `section` adds one.
 */
function table(rows: Array<Record<string, unknown>>): string {
  const first = rows[0];
  if (first === undefined) return '';
  const columns: Column<Record<string, unknown>>[] = Object.keys(first).map((key) => ({
    title: key,
    value: (row) => {
      const value = row[key];
      if (value === undefined || value === null) return undefined;
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    },
    max: Number.POSITIVE_INFINITY,
  }));
  return formatTable(rows, columns).trimEnd();
}

/** Side by side, per payload: events/s of one consumer instance without and with the injected latency. */
function perInstanceRows(p: {
  direct: Array<{ payload: string; eventsPerSecond: number; batchMs: number; requestsPerEvent: number }>;
  withLatency: Array<{ eventsPerSecond: number; batchMs: number; floorEventsPerSecond: number }>;
}) {
  return p.direct.map((d, i) => {
    const l = p.withLatency[i];
    return {
      payload: d.payload,
      requestsPerEvent: d.requestsPerEvent,
      eventsPerSecond: d.eventsPerSecond,
      eventsPerSecondWithLatency: l?.eventsPerSecond,
      batchMs: d.batchMs,
      batchMsWithLatency: l?.batchMs,
      floorEventsPerSecondWithLatency: l?.floorEventsPerSecond,
    };
  });
}

function section(title: string, body: string) {
  console.log(`\n## ${title}\n${body}`);
}

const machine = machineInfo();
const loadByPart: Record<string, number[]> = {};
machine.loadByPart = loadByPart;
/** Says what starts, with the load averages of the moment, and keeps them for results.json. */
function part(name: string, line: string) {
  const load = currentLoad();
  loadByPart[name] = load;
  console.log(`${line} (load ${load.join(' ')})`);
}
console.log(
  `bench: ${machine.cpus} × ${machine.model}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAtStart.join(' ')}`,
);

part('ingest CPU', '\ningest CPU…');
const ingestCpu = await benchIngestCpu({
  repeats: settings.ingestRepeats,
  iterations: settings.ingestIterations,
  warmup: settings.ingestIterations,
});
section('Ingest CPU per event (in process, in-memory queue)', table(ingestCpu as never));

part('cold start', '\ncold start (bundling)…');
const source = await bundles();
const coldStart = await benchColdStart(source.bundles, { repeats: settings.coldStartRepeats });
section(`Cold start — ${source.source}: ${source.note}`, table(coldStart as never));

part('log volume', '\nlog volume…');
const telemetry = await benchTelemetry();
section('CloudWatch Logs bytes per event', table([telemetry as never]));

console.log('\nstarting DynamoDB Local and the SQS emulator…');
const stack = await startBenchStack({ sqs: true });
const markers = new MarkerLog();
let consumer: Awaited<ReturnType<typeof benchConsumer>>;
/**
 * One consumer instance, directly and through the latency proxy: events/s per instance, as one
 * Lambda instance would do them when every request pays a network round trip. One instance, not
 * four: four keep DynamoDB Local's CPU busy, and its queue then hides the latency.
 */
let perInstance:
  | {
      instances: number;
      latencyMsEachWay: number;
      /** Median `ListTables` directly and through the proxy, and the difference: the added round trip. */
      requestMsDirect: number;
      requestMsThroughProxy: number;
      addedRoundTripMs: number;
      proxy: LatencyProxyStats;
      direct: Awaited<ReturnType<typeof benchConsumer>>;
      withLatency: Awaited<ReturnType<typeof benchConsumer>>;
    }
  | undefined;
let endToEnd: Awaited<ReturnType<typeof runEndToEnd>>;
let markerCheck: MarkerCheck;
try {
  part('consumer', 'consumer…');
  const consumerOptions = {
    eventsPerRun: settings.consumerEventsPerRun,
    repeats: settings.consumerRepeats,
    instances: settings.consumerInstances,
    markers,
  };
  consumer = await benchConsumer(stack.dynamoEndpoint, consumerOptions);
  section(
    'Consumer against DynamoDB Local (batches of 10, 4 instances)',
    table(consumer.map(({ writeUnitsByTarget, requestsByOperation, ...rest }) => rest) as never),
  );
  for (const c of consumer)
    console.log(`  ${c.payload} write units by target: ${JSON.stringify(c.writeUnitsByTarget)}`);

  if (settings.dynamoLatencyMsEachWay > 0) {
    const ms = settings.dynamoLatencyMsEachWay;
    const oneInstance = { ...consumerOptions, instances: settings.perInstanceRunInstances };
    part('consumer per instance', '\nconsumer, one instance, directly…');
    const direct = await benchConsumer(stack.dynamoEndpoint, oneInstance);
    part(
      'consumer per instance with latency',
      `consumer, one instance, ${ms} ms each way in front of DynamoDB Local (latency proxy)…`,
    );
    const proxy = await startLatencyProxy(stack.dynamoEndpoint, ms);
    let withLatency: Awaited<ReturnType<typeof benchConsumer>>;
    let requestMsDirect: number;
    let requestMsThroughProxy: number;
    let proxyStats: LatencyProxyStats;
    try {
      requestMsDirect = await requestMs(stack.dynamoEndpoint);
      requestMsThroughProxy = await requestMs(proxy.endpoint);
      withLatency = await benchConsumer(stack.dynamoEndpoint, { ...oneInstance, via: proxy.endpoint });
    } finally {
      proxyStats = await proxy.stop();
    }
    perInstance = {
      instances: settings.perInstanceRunInstances,
      latencyMsEachWay: ms,
      requestMsDirect: round(requestMsDirect),
      requestMsThroughProxy: round(requestMsThroughProxy),
      addedRoundTripMs: round(requestMsThroughProxy - requestMsDirect),
      proxy: proxyStats,
      direct,
      withLatency,
    };
    section(
      `Consumer events/s per instance (one instance, batches of 10), directly and with ${ms} ms each way to DynamoDB Local (a request measured ${perInstance.requestMsDirect} ms directly, ${perInstance.requestMsThroughProxy} ms through the proxy)`,
      table(perInstanceRows(perInstance) as never),
    );
  }

  part('end to end', `\nend to end: ${settings.endToEndEvents} deliveries…`);
  endToEnd = await runEndToEnd(stack, {
    events: settings.endToEndEvents,
    concurrency: settings.endToEndConcurrency,
    consumers: settings.endToEndConsumers,
    duplicateRate: settings.duplicateRate,
    faultRate: 0,
    seed: 20_260_617,
    visibilityTimeoutSeconds: 30,
    timeoutMs: Math.max(120_000, settings.endToEndEvents * 100),
    markers,
    progress: (line) => console.log(`  ${line}`),
  });
  const { consumer: consumerStats, sqsRequestsPerEvent, faultsInjected, rejected, ...e2e } = endToEnd;
  section('End to end on the local stack', table([e2e as never]));
  console.log(
    `  consumer: ${JSON.stringify(consumerStats)}\n  SQS requests per delivery: ${JSON.stringify(sqsRequestsPerEvent)}`,
  );

  // Last, so DynamoDB Local's time-to-live sweep has had the whole run to delete what it would.
  console.log('\nchecking every dedupe marker written…');
  const admin = dynamoClient(stack.dynamoEndpoint);
  try {
    markerCheck = await markers.verify(admin);
  } finally {
    admin.destroy();
  }
  section(
    'Dedupe markers written by the consumer runs and the end-to-end run',
    table([markerCheck as never]),
  );
} finally {
  await stack.stop();
}

const ingestFn = source.bundles.find((b) => b.name === 'ingest');
const consumerFn = source.bundles.find((b) => b.name === 'consumer');
// The deployment as `cdk synth` makes it: the publish function's memory here, the fixed costs below.
const templates = await deploymentTemplates();
const publishMemoryMb = templates
  .flatMap((t) => Object.entries(t.Resources ?? {}))
  .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && /publish/i.test(id))
  .map(([, r]) => Number(r.Properties?.MemorySize))
  .find((mb) => mb > 0);
const sqsPerEvent = Object.entries(endToEnd.sqsRequestsPerEvent)
  .filter(([name]) => ['SendMessage', 'ReceiveMessage', 'DeleteMessageBatch'].includes(name))
  .reduce((n, [, v]) => n + v, 0);
const small = consumer[0];
const large = consumer[1];
// The end-to-end mix: 70 % Cooledge (small), 30 % Zenbooker (large).
const storedBytes = (f: (typeof consumer)[number]) => f.eventItemBytes + f.eventIndexBytes;
const mixStoredBytes = small && large ? 0.7 * storedBytes(small) + 0.3 * storedBytes(large) : 4_000;
const cost = costPerMillion({
  ingestMemoryMb: ingestFn?.memoryMb ?? 512,
  consumerMemoryMb: consumerFn?.memoryMb ?? 256,
  memorySource: ingestFn?.memoryMb ? 'the synthesised template' : 'assumed (no template)',
  ingestMs: endToEnd.ingestHandlerP50Ms,
  ingestMsSource: 'p50 inside the handler on the local stack, SQS emulator round trip included',
  // From the consumer runs (batches of 10, tables without the jobs stream, which DynamoDB Local
  // keeps on the write path and DynamoDB does not); the end-to-end run keeps the stream to count the
  // job events, and shares the machine with the load generator.
  consumerInvocationMs:
    small && large ? 0.7 * small.batchMs + 0.3 * large.batchMs : endToEnd.consumer.invocationP50Ms,
  consumerEventsPerInvocation: endToEnd.consumer.averageBatchSize,
  consumerMsSource:
    'median per batch of 10 against DynamoDB Local in the consumer runs, 70 % Cooledge, 30 % Zenbooker',
  sqsRequestsPerEvent: sqsPerEvent,
  sqsSource: 'send + receive + batched delete, measured end to end',
  writeUnitsPerEvent: endToEnd.writeUnitsPerEvent,
  writeUnitsSource: 'reported by DynamoDB Local end to end: 70 % Cooledge, 30 % Zenbooker, shuffled',
  storedBytesPerEvent: mixStoredBytes,
  // Both functions' log lines, Lambda's own, and one API Gateway access log line per delivery.
  logBytesPerEvent: logBytesPerDelivery(telemetry, endToEnd.consumer.averageBatchSize),
  logSource: logBytesSource(telemetry),
  jobChangesPerDelivery: endToEnd.jobStream.changes / endToEnd.sent,
  jobStreamRecordsPerDelivery: endToEnd.jobStream.records / endToEnd.sent,
  publishMemoryMb: publishMemoryMb ?? 256,
  // The function's own CPU per batch is measured; the PutEvents round trip is not (no EventBridge
  // here): 25 ms is an estimate of one call from Lambda in the same Region.
  publishInvocationMs: endToEnd.jobStream.changesCpuMsPerBatch + 25,
  jobEventsSource: `measured end to end: ${endToEnd.jobStream.changes} events from ${endToEnd.jobStream.records} stream records for ${endToEnd.sent} deliveries; the PutEvents round trip estimated at 25 ms`,
});
section(
  `Cost per million deliveries (${cost.prices.region}; prices ${cost.prices.checked})`,
  `${table(cost.lines as never)}\nTOTAL ${cost.totalPerMillion} $/million`,
);

// A month of a small business: the per-delivery cost above plus what the synthesised deployment
// costs whatever its volume, counted from its templates.
const monthly = [0, monthlyGoal.events].map((events) => monthlyCost({ events, perMillion: cost, templates }));
const [idleMonth, smallMonth] = monthly as [MonthlyCost, MonthlyCost];
section(
  `Cost per month at 0 and ${monthlyGoal.events.toLocaleString('en-US')} deliveries (list prices, no free tier)`,
  `${table(
    smallMonth.lines.map((line, i) => ({
      item: line.item,
      'at 0': idleMonth.lines[i]?.monthly,
      [`at ${monthlyGoal.events}`]: line.monthly,
      basis: line.basis,
    })) as never,
  )}\nTOTAL $${idleMonth.total} at 0, $${smallMonth.total} at ${monthlyGoal.events.toLocaleString('en-US')}`,
);

const goals: Goal[] = [
  ...ingestCpu.map((f) => ({
    figure: `ingest CPU, ${f.payload}`,
    value: `${f.ratio}× floor (${f.ingestUs} µs vs ${f.floorUs} µs)`,
    goal: '≤ 1.5× floor',
    met: f.ratio <= 1.5,
  })),
  ...coldStart.map((f) => ({
    figure: `cold start, ${f.name}`,
    value: `+${f.initAddsMs} ms (bundle ${round(f.bundleBytes / 1024)} KiB; +${f.initAddsWithSourceMapsMs} ms with --enable-source-maps)`,
    goal: 'init adds ≤ 60 ms',
    met: f.initAddsMs <= 60,
  })),
  ...consumer.flatMap((f) => [
    {
      figure: `consumer round trips, ${f.payload}`,
      value: `${f.requestsPerEvent} per new event`,
      goal: '1 per new event',
      met: f.requestsPerEvent <= 1,
    },
    {
      figure: `consumer throughput, ${f.payload}`,
      value: `${f.ratio}× floor (${f.eventsPerSecond} vs ${f.floorEventsPerSecond} events/s)`,
      goal: '≥ 0.8× floor',
      met: f.ratio >= 0.8,
    },
  ]),
  {
    figure: 'end to end: lost',
    value: String(endToEnd.lost),
    goal: '0',
    met: endToEnd.lost === 0,
  },
  {
    figure: 'end to end: applied twice',
    value: String(endToEnd.appliedTwice),
    goal: '0',
    met: endToEnd.appliedTwice === 0,
  },
  {
    figure: 'end to end: job change events',
    value: `${endToEnd.jobStream.changes} from ${endToEnd.jobStream.records} job writes in the stream: ${endToEnd.jobStream.appliedChanges} by the ${endToEnd.appliedToJobs} applied events, ${endToEnd.jobStream.changes - endToEnd.jobStream.appliedChanges} by stale events' fills`,
    goal: 'one per job write; one per applied event',
    met:
      endToEnd.jobStream.changes === endToEnd.jobStream.records &&
      endToEnd.jobStream.appliedChanges === endToEnd.appliedToJobs,
  },
  {
    figure: 'dedupe markers kept to the end of the run',
    value: `${markerCheck.present} of ${markerCheck.written} present in ${markerCheck.tables} tables, ${markerCheck.expired} past expiresAt (soonest expires in ${markerCheck.soonestExpiryDays} days)`,
    goal: 'all present, none expired',
    met: markerCheck.missing === 0 && markerCheck.expired === 0,
  },
  {
    figure: 'write units per new event',
    value: `${endToEnd.writeUnitsPerEvent} end to end (70 % Cooledge, 30 % Zenbooker, shuffled); ${consumer
      .map(
        (f) =>
          `${f.payload} ${f.writeUnitsPerEvent}: ${Object.entries(f.writeUnitsByTarget)
            .map(([target, units]) => `${target} ${units}`)
            .join(', ')}`,
      )
      .join('; ')}`,
    goal: '≤ 6 end to end',
    met: endToEnd.writeUnitsPerEvent <= 6,
  },
  {
    figure: `cost per month at 0 and ${monthlyGoal.events.toLocaleString('en-US')} deliveries`,
    value: `$${idleMonth.total} and $${smallMonth.total}`,
    goal: `≤ $${monthlyGoal.dollars} at ${monthlyGoal.events.toLocaleString('en-US')}`,
    met: smallMonth.total <= monthlyGoal.dollars,
  },
  {
    figure: 'cost per million deliveries',
    value: `$${cost.totalPerMillion}`,
    goal: '≤ $5',
    met: cost.totalPerMillion <= 5,
  },
];
section('Goals', table(goals as never));

// The table docs/performance.md carries.
const money = (n: number) => `$${n.toFixed(2)}`;
console.log(
  `\n## Cost table (docs/performance.md)\n| Item | Basis | $ per million |\n|---|---|---:|\n${cost.lines
    .map((l) => `| ${l.item} | ${l.basis} | ${money(l.perMillion)} |`)
    .join('\n')}\n| **Total** | | **${money(cost.totalPerMillion)}** |`,
);

machine.loadAtEnd = currentLoad();
const results = {
  command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine,
  settings,
  goals,
  ingestCpu,
  coldStart: {
    source: source.source,
    note: source.note,
    functions: coldStart.map((f) => {
      const b = source.bundles.find((x) => x.name === f.name);
      return {
        ...f,
        memoryMb: b?.memoryMb,
        architecture: b?.architecture,
        timeoutSeconds: b?.timeoutSeconds,
      };
    }),
  },
  consumer,
  consumerPerInstance: perInstance ? { summary: perInstanceRows(perInstance), ...perInstance } : null,
  markers: markerCheck,
  endToEnd,
  telemetry,
  cost,
  monthly,
};
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${outFile} (load at end ${machine.loadAtEnd.join(' ')})`);

// A lost marker means the run measured something else than it says (new events turned duplicates
// or the other way round): the figures stand as written, but the run fails.
const failed = goals.filter((g) => g.figure.startsWith('dedupe markers') && !g.met);
for (const g of failed) {
  console.error(`\nFAILED: ${g.figure}: ${g.value} (goal: ${g.goal})`);
  if (markerCheck.missingSample.length > 0)
    console.error(`  missing, for example: ${markerCheck.missingSample.join(', ')}`);
}
if (failed.length > 0) process.exitCode = 1;
