import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHandler } from '../functions/ingest/app.ts';
import { median, round } from '../tools/stats.ts';
import {
  benchCooledgeSecret,
  cooledgeRequest,
  fixture,
  ingestDeps,
  largeZenbooker,
  MemoryQueue,
  zenbookerRequest,
} from './lib/pipeline.ts';

/**
 * Ingest CPU per event, in process: the real ingest handler (API Gateway v2 event in, response
 * out) over an in-memory queue, against the floor any receiver pays for the same bytes:
 * HMAC-SHA256 of the signed string and `JSON.parse` of the body.
 */

export interface IngestCpuOptions {
  repeats: number;
  iterations: number;
  warmup: number;
  /** Only the payloads whose name contains this (for profiling one at a time). */
  only?: string;
}

export interface IngestCpuFigure {
  payload: string;
  bodyBytes: number;
  /** CPU microseconds per event (user + system, all threads: GC included). */
  ingestUs: number;
  floorUs: number;
  /** Median of the per-repeat ratios ingest / floor. */
  ratio: number;
  /** Wall-clock microseconds per event, and the same ratio on wall time. */
  ingestWallUs: number;
  wallRatio: number;
}

interface Case {
  payload: string;
  raw: string;
  event: APIGatewayProxyEventV2;
  /** What the floor HMACs: the same bytes the verifier signs. */
  signedPrefix: string;
}

function cases(now: Date): Case[] {
  const cooledge = JSON.stringify(fixture('cooledge', 'job.completed'));
  const zenbooker = JSON.stringify(largeZenbooker());
  const t = Math.floor(now.getTime() / 1000);
  return [
    {
      payload: 'Cooledge job.completed (small)',
      raw: cooledge,
      event: cooledgeRequest(cooledge, now),
      signedPrefix: `${t}.`,
    },
    {
      payload: 'Zenbooker job.completed (large)',
      raw: zenbooker,
      event: zenbookerRequest(zenbooker),
      signedPrefix: `${t}.`,
    },
  ];
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function timeIngest(
  handler: ReturnType<typeof createHandler>,
  event: APIGatewayProxyEventV2,
  iterations: number,
) {
  const cpu0 = cpuMicros();
  const wall0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const response = await handler(event);
    if (response.statusCode !== 202) throw new Error(`ingest answered ${response.statusCode}`);
  }
  return { cpu: (cpuMicros() - cpu0) / iterations, wall: ((performance.now() - wall0) * 1000) / iterations };
}

let sink = 0;
function timeFloor(c: Case, iterations: number) {
  const cpu0 = cpuMicros();
  const wall0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const mac = createHmac('sha256', benchCooledgeSecret).update(c.signedPrefix).update(c.raw).digest('hex');
    const value = JSON.parse(c.raw) as object;
    sink += mac.length + Object.keys(value).length;
  }
  return { cpu: (cpuMicros() - cpu0) / iterations, wall: ((performance.now() - wall0) * 1000) / iterations };
}

export async function benchIngestCpu(options: IngestCpuOptions): Promise<IngestCpuFigure[]> {
  const now = new Date();
  const queue = new MemoryQueue();
  // The clock is pinned to the signing time so every iteration stays inside the tolerance.
  const handler = createHandler(ingestDeps(queue, { clock: () => now }));
  const figures: IngestCpuFigure[] = [];
  for (const c of cases(now).filter((x) => !options.only || x.payload.toLowerCase().includes(options.only))) {
    // Long enough for the JIT to finish: its compiler threads count in process CPU time.
    for (let w = 0; w < 3; w++) {
      await timeIngest(handler, c.event, options.warmup);
      timeFloor(c, options.warmup);
    }
    const ingest: number[] = [];
    const wall: number[] = [];
    const floor: number[] = [];
    const ratios: number[] = [];
    const wallRatios: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      // Interleaved, so a burst of load from a neighbour hits both sides of a ratio alike.
      const a = await timeIngest(handler, c.event, options.iterations);
      const f = timeFloor(c, options.iterations);
      ingest.push(a.cpu);
      wall.push(a.wall);
      floor.push(f.cpu);
      ratios.push(a.cpu / f.cpu);
      wallRatios.push(a.wall / f.wall);
    }
    figures.push({
      payload: c.payload,
      bodyBytes: Buffer.byteLength(c.raw),
      ingestUs: round(median(ingest)),
      floorUs: round(median(floor)),
      ratio: round(median(ratios)),
      ingestWallUs: round(median(wall)),
      wallRatio: round(median(wallRatios)),
    });
  }
  if (sink === -1) console.log(sink);
  return figures;
}

// `tsx bench/ingest-cpu.ts` runs this part alone (handy with `node --cpu-prof --import tsx`).
if (import.meta.main) {
  const figures = await benchIngestCpu({
    repeats: 9,
    iterations: 3_000,
    warmup: 3_000,
    ...(process.env.BENCH_ONLY ? { only: process.env.BENCH_ONLY } : {}),
  });
  console.table(figures);
}
