import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { type Column, table as formatTable } from '../cli/format.ts';
import { round } from '../tools/stats.ts';
import { benchColdStart, bundles } from './cold-start.ts';
import { benchConsumer } from './consumer.ts';
import { costPerMillion } from './cost.ts';
import { runEndToEnd } from './end-to-end.ts';
import { benchIngestCpu } from './ingest-cpu.ts';
import { startBenchStack } from './lib/local.ts';
import { currentLoad, machineInfo } from './lib/machine.ts';
import { benchTelemetry } from './telemetry.ts';

/**
 * `npm run bench [-- --events N --concurrency C --quick]`: every benchmark of issue 5, a table on
 * stdout, and `bench/results.json` with the figures and the machine they came from.
 */

const values = new Command('npm run bench --')
  .option('--events <n>', 'end-to-end deliveries (default 10000, 1000 with --quick; env BENCH_EVENTS)')
  .option('--concurrency <n>', 'end-to-end deliveries in flight (default 16; env BENCH_CONCURRENCY)')
  .option('--quick', 'fewer repeats, for a smoke run (env BENCH_QUICK=1)')
  .option('--out <file>', 'where the figures go (default bench/results.json)')
  .showSuggestionAfterError(true)
  .allowExcessArguments(false)
  .parse()
  .opts<{ events?: string; concurrency?: string; quick?: boolean; out?: string }>();
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
};
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

function section(title: string, body: string) {
  console.log(`\n## ${title}\n${body}`);
}

const machine = machineInfo();
console.log(
  `bench: ${machine.cpus} × ${machine.model}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAtStart.join(' ')}`,
);

console.log('\ningest CPU…');
const ingestCpu = await benchIngestCpu({
  repeats: settings.ingestRepeats,
  iterations: settings.ingestIterations,
  warmup: settings.ingestIterations,
});
section('Ingest CPU per event (in process, in-memory queue)', table(ingestCpu as never));

console.log('\ncold start (bundling)…');
const source = await bundles();
const coldStart = await benchColdStart(source.bundles, { repeats: settings.coldStartRepeats });
section(`Cold start — ${source.source}: ${source.note}`, table(coldStart as never));

console.log('\nlog volume…');
const telemetry = await benchTelemetry();
section('CloudWatch Logs bytes per event', table([telemetry as never]));

console.log('\nstarting DynamoDB Local and the SQS emulator…');
const stack = await startBenchStack({ sqs: true });
let consumer: Awaited<ReturnType<typeof benchConsumer>>;
let endToEnd: Awaited<ReturnType<typeof runEndToEnd>>;
try {
  console.log('consumer…');
  consumer = await benchConsumer(stack.dynamoEndpoint, {
    eventsPerRun: settings.consumerEventsPerRun,
    repeats: settings.consumerRepeats,
    instances: settings.consumerInstances,
  });
  section(
    'Consumer against DynamoDB Local (batches of 10, 4 instances)',
    table(consumer.map(({ writeUnitsByTarget, requestsByOperation, ...rest }) => rest) as never),
  );
  for (const c of consumer)
    console.log(`  ${c.payload} write units by target: ${JSON.stringify(c.writeUnitsByTarget)}`);

  console.log(`\nend to end: ${settings.endToEndEvents} deliveries…`);
  endToEnd = await runEndToEnd(stack, {
    events: settings.endToEndEvents,
    concurrency: settings.endToEndConcurrency,
    consumers: settings.endToEndConsumers,
    duplicateRate: settings.duplicateRate,
    faultRate: 0,
    seed: 20_260_617,
    visibilityTimeoutSeconds: 30,
    timeoutMs: Math.max(120_000, settings.endToEndEvents * 100),
    progress: (line) => console.log(`  ${line}`),
  });
  const { consumer: consumerStats, sqsRequestsPerEvent, faultsInjected, rejected, ...e2e } = endToEnd;
  section('End to end on the local stack', table([e2e as never]));
  console.log(
    `  consumer: ${JSON.stringify(consumerStats)}\n  SQS requests per delivery: ${JSON.stringify(sqsRequestsPerEvent)}`,
  );
} finally {
  await stack.stop();
}

const ingestFn = source.bundles.find((b) => b.name === 'ingest');
const consumerFn = source.bundles.find((b) => b.name === 'consumer');
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
  consumerInvocationMs: endToEnd.consumer.invocationP50Ms,
  consumerEventsPerInvocation: endToEnd.consumer.averageBatchSize,
  consumerMsSource: 'p50 per batch against DynamoDB Local',
  sqsRequestsPerEvent: sqsPerEvent,
  sqsSource: 'send + receive + batched delete, measured end to end',
  writeUnitsPerEvent: endToEnd.writeUnitsPerEvent,
  writeUnitsSource: 'reported by DynamoDB Local end to end: 70 % Cooledge, 30 % Zenbooker, shuffled',
  storedBytesPerEvent: mixStoredBytes,
  logBytesPerEvent:
    telemetry.ingestBytesPerEvent +
    telemetry.consumerBytesPerEvent +
    telemetry.platformBytesPerInvocation * (1 + 1 / Math.max(1, endToEnd.consumer.averageBatchSize)),
  logSource: 'Powertools logs + EMF measured, Lambda START/END/REPORT estimated',
});
section(
  `Cost per million deliveries (${cost.prices.region}; prices ${cost.prices.checked})`,
  `${table(cost.lines as never)}\nTOTAL ${cost.totalPerMillion} $/million\nFixed per month: ${cost.fixedMonthly
    .map((f) => `${f.item} $${f.perMillion}`)
    .join(', ')}`,
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
  endToEnd,
  telemetry,
  cost,
};
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${outFile} (load at end ${machine.loadAtEnd.join(' ')})`);
