import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { runEndToEnd } from '../../bench/end-to-end.ts';
import { startBenchStack } from '../../bench/lib/local.ts';

/**
 * `npm run chaos [-- --events N --fault-rate R --crash-rate C --fuzz-runs F --lands-runs L --model-runs M --job-events-runs J]`:
 * the long runs that do not fit in `npm test`.
 *
 * 1. The ingest fuzz properties with many more runs.
 * 2. The "every 202 lands" properties (test/integration/every-202-lands.test.ts) against DynamoDB
 *    Local and the SQS emulator, with `L` generated bodies per provider (default 5,000).
 * 3. The model-based test of the stores (test/integration/store-model.test.ts): `M` random runs
 *    (default 2,000) of deliveries, duplicates, conflicts, replays, expiries and concurrent copies,
 *    each answered and stored alike by the reference store and by DynamoDB Local.
 * 4. The end-to-end load run while the consumer's DynamoDB fails intermittently (throttles, 5xx,
 *    timeouts before and after commit; half absorbed by the SDK's retries, half failing the record)
 *    and consumer invocations die mid-batch; dead letters are redriven as an operator would.
 *    Passes only with nothing lost, nothing applied twice and every job at its newest state.
 */

const values = new Command('npm run chaos --')
  .option('--events <n>', 'deliveries in the load under faults (default 10000; env CHAOS_EVENTS)')
  .option('--concurrency <n>', 'deliveries in flight (default 16)')
  .option('--fault-rate <rate>', 'share of DynamoDB calls that fail (default 0.05)')
  .option('--crash-rate <rate>', 'share of consumer invocations that die mid-batch (default 0.02)')
  .option('--fuzz-runs <n>', 'fuzz runs (default 20000)')
  .option('--lands-runs <n>', 'every-202-lands property runs (default 5000)')
  .option('--model-runs <n>', 'store model-based test runs (default 2000)')
  .option('--job-events-runs <n>', 'job change events property runs (default 200)')
  .option('--seed <n>', 'the random seed (default: from the clock)')
  .option('--skip-fuzz', 'skip the fuzz suites')
  .showSuggestionAfterError(true)
  .parse()
  .opts<{
    events?: string;
    concurrency?: string;
    faultRate?: string;
    crashRate?: string;
    fuzzRuns?: string;
    landsRuns?: string;
    modelRuns?: string;
    jobEventsRuns?: string;
    seed?: string;
    skipFuzz?: boolean;
  }>();
const events = Number(values.events ?? process.env.CHAOS_EVENTS ?? 10_000);
const faultRate = Number(values.faultRate ?? 0.05);
const crashRate = Number(values.crashRate ?? 0.02);
const fuzzRuns = Number(values.fuzzRuns ?? 20_000);
const landsRuns = Number(values.landsRuns ?? 5_000);
const modelRuns = Number(values.modelRuns ?? 2_000);
const jobEventsRuns = Number(values.jobEventsRuns ?? 200);
const seed = Number(values.seed ?? Date.now() % 1_000_000);
const root = join(import.meta.dirname, '..', '..');
const failures: string[] = [];

/** Runs one vitest file of a project with extra env; true when it passed. */
function vitestFile(project: string, file: string, env: Record<string, string>, timeoutMs: number): boolean {
  const run = spawnSync(join(root, 'node_modules', '.bin', 'vitest'), ['run', '--project', project, file], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return run.status === 0;
}

if (!values.skipFuzz) {
  console.log(`fuzzing the ingest handler: ${fuzzRuns} runs per property…`);
  if (!vitestFile('unit', 'test/unit/fuzz.test.ts', { FUZZ_RUNS: String(fuzzRuns) }, 900_000))
    failures.push('fuzzing found a counterexample (see above)');

  console.log(`\nevery 202 lands: ${landsRuns} generated bodies per provider through the real pipeline…`);
  if (
    !vitestFile(
      'integration',
      'test/integration/every-202-lands.test.ts',
      { LANDS_RUNS: String(landsRuns) },
      1_800_000,
    )
  )
    failures.push('an accepted event did not land (see above)');

  console.log(
    `\nthe stores' model: ${modelRuns} random runs against the reference store and DynamoDB Local…`,
  );
  if (
    !vitestFile(
      'integration',
      'test/integration/store-model.test.ts',
      { STORE_MODEL_RUNS: String(modelRuns) },
      1_800_000,
    )
  )
    failures.push('DynamoDB and the reference store disagreed (see above)');

  console.log(`\njob change events: ${jobEventsRuns} random delivery sequences, read back from the stream…`);
  if (
    !vitestFile(
      'integration',
      'test/integration/job-events.test.ts',
      { JOB_EVENTS_RUNS: String(jobEventsRuns) },
      1_800_000,
    )
  )
    failures.push('the job change events were not exactly the changes to jobs (see above)');
}

console.log(
  `\nload under faults (seed ${seed}): ${events} deliveries, ${faultRate * 100} % of DynamoDB writes failing, ${crashRate * 100} % of consumer invocations dying…`,
);
const stack = await startBenchStack({ sqs: true });
try {
  const result = await runEndToEnd(stack, {
    events,
    concurrency: Number(values.concurrency ?? 16),
    consumers: 4,
    duplicateRate: 0.1,
    faultRate,
    crashRate,
    redriveDeadLetters: true,
    seed,
    visibilityTimeoutSeconds: 5,
    timeoutMs: Math.max(300_000, events * 150),
    progress: (line) => console.log(`  ${line}`),
  });
  const { consumer, sqsRequestsPerEvent, ...summary } = result;
  console.log(JSON.stringify({ ...summary, consumer: { ...consumer } }, null, 2));
  if (result.lost !== 0) failures.push(`${result.lost} event(s) lost`);
  if (result.appliedTwice !== 0) failures.push(`${result.appliedTwice} event(s) applied twice`);
  if (result.wrongFinalState !== 0)
    failures.push(`${result.wrongFinalState} job(s) not at their newest state`);
  if (result.accepted !== result.sent)
    failures.push(`${result.sent - result.accepted} delivery(ies) never accepted`);
  if (result.deadLettered !== 0) failures.push(`${result.deadLettered} message(s) left in the DLQ`);
  if (result.jobStream.changes !== result.jobStream.records)
    failures.push(
      `${result.jobStream.changes} job change event(s) from ${result.jobStream.records} writes in the jobs table's stream`,
    );
  if (result.jobStream.appliedChanges !== result.appliedToJobs)
    failures.push(
      `${result.jobStream.appliedChanges} job change event(s) caused by applied events for ${result.appliedToJobs} applied event(s)`,
    );
} finally {
  await stack.stop();
}

if (failures.length > 0) {
  console.error(`\nchaos: FAILED\n- ${failures.join('\n- ')}`);
  process.exitCode = 1;
} else {
  console.log(
    '\nchaos: passed — nothing lost, nothing applied twice, every job at its newest state, one job change event per change to a job',
  );
}
