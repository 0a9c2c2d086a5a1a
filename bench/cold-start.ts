import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { median, round } from '../tools/stats.ts';
import { benchCooledgeSecret, benchZenbookerToken, repoRoot } from './lib/pipeline.ts';

/**
 * Cold start: the size of each function's bundle (the bundles CDK ships when `cdk/` synthesises,
 * esbuild with the NodejsFunction defaults otherwise) and the time a fresh Node process needs to
 * import it with the environment Lambda would give it, against an empty `node -e 0`.
 */

export interface FunctionBundle {
  name: 'ingest' | 'consumer';
  file: string;
  /** Memory size from the synthesised template, when there is one. */
  memoryMb: number | undefined;
  architecture: string | undefined;
  timeoutSeconds: number | undefined;
}

export interface BundleSource {
  /** How the bundles were produced: the CDK synth, or the esbuild fallback. */
  source: 'cdk synth' | 'esbuild fallback';
  note: string;
  bundles: FunctionBundle[];
}

export interface ColdStartFigure {
  name: string;
  bundleBytes: number;
  bundleGzipBytes: number;
  /** Median wall time of `node <import the bundle>` minus the median of `node -e 0`. */
  initAddsMs: number;
  /**
   * The same with `--enable-source-maps`, which the functions ran with before it became the
   * `sourceMaps` context switch (off by default): what turning it on costs every cold start.
   */
  initAddsWithSourceMapsMs: number;
  /** Median time of the `import()` itself, measured inside the fresh process. */
  importMs: number;
  floorMs: number;
}

// Under node_modules, where Node stops looking for a package.json: the repository's
// `"type": "module"` does not reach the bundles, so a CommonJS `index.js` loads as CommonJS, as it
// does from Lambda's /var/task.
const workDir = join(repoRoot, 'node_modules', '.cache', 'field-webhooks-bench');
const node = process.execPath;

const env: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/webhook-events',
  COOLEDGE_WEBHOOK_SECRETS: benchCooledgeSecret,
  ZENBOOKER_WEBHOOK_TOKENS: benchZenbookerToken,
  EVENTS_TABLE_NAME: 'bench-events',
  JOBS_TABLE_NAME: 'bench-jobs',
};

interface TemplateResource {
  Type: string;
  Properties?: { MemorySize?: number; Architectures?: string[]; Timeout?: number; Handler?: string };
  Metadata?: Record<string, unknown>;
}

/**
 * Synthesises the CDK app into a private output folder (never the team's `cdk.out`) and finds the
 * two functions' assets. `cdk synth` first; when the CLI cannot run, the app itself with the
 * context from `cdk.json`, which is what the CLI does underneath.
 */
function fromCdk(): BundleSource | { error: string } {
  if (!existsSync(join(repoRoot, 'cdk')) || !existsSync(join(repoRoot, 'cdk.json'))) {
    return { error: 'no cdk/ (or cdk.json) in the repository yet' };
  }
  const out = join(workDir, 'cdk.out');
  const run = (command: string, args: string[], extraEnv: Record<string, string>) => {
    rmSync(out, { recursive: true, force: true });
    return spawnSync(command, args, {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CI: 'true', ...extraEnv },
    });
  };
  const bin = join(repoRoot, 'node_modules', '.bin');
  let how = '`cdk synth`';
  let result = run(join(bin, 'cdk'), ['synth', '--quiet', '--output', out], {});
  if (result.status !== 0) {
    const cliError = (result.stderr || result.stdout || String(result.error)).trim();
    const reason = /schema version mismatch[^)]*/i.exec(cliError)?.[0] ?? cliError.split('\n').pop();
    const cdkJson = JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context?: object };
    result = run(join(bin, 'tsx'), ['cdk/app.ts'], {
      CDK_OUTDIR: out,
      CDK_CONTEXT_JSON: JSON.stringify(cdkJson.context ?? {}),
    });
    how = `the CDK app run directly with cdk.json's context (\`cdk synth\` failed: ${reason})`;
    if (result.status !== 0) {
      return { error: `CDK synthesis failed: ${(result.stderr || result.stdout).trim().slice(-400)}` };
    }
  }
  const bundles: FunctionBundle[] = [];
  for (const file of readdirSync(out).filter((f) => f.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(out, file), 'utf8')) as {
      Resources?: Record<string, TemplateResource>;
    };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') continue;
      const name = /ingest/i.test(logicalId) ? 'ingest' : /consum/i.test(logicalId) ? 'consumer' : undefined;
      if (!name) continue;
      const dir = join(out, assetPath);
      const entry = ['index.mjs', 'index.js'].map((f) => join(dir, f)).find((f) => existsSync(f));
      if (!entry) continue;
      bundles.push({
        name,
        file: entry,
        memoryMb: resource.Properties?.MemorySize,
        architecture: resource.Properties?.Architectures?.[0],
        timeoutSeconds: resource.Properties?.Timeout,
      });
    }
  }
  if (!bundles.some((b) => b.name === 'ingest') || !bundles.some((b) => b.name === 'consumer')) {
    return { error: 'cdk synth produced no ingest and consumer function assets' };
  }
  return {
    source: 'cdk synth',
    note: `the function assets the stack ships, bundled by the house NodeFunction construct; synthesised by ${how}`,
    bundles,
  };
}

/**
 * esbuild with the NodejsFunction defaults for Node 24: ESM, minified, `@aws-sdk/*` external (the
 * runtime provides it). `bundleSdk` builds the what-if where the SDK is bundled too.
 */
export async function esbuildBundles(bundleSdk: boolean): Promise<FunctionBundle[]> {
  const bundles: FunctionBundle[] = [];
  for (const [name, entry] of [
    ['ingest', 'functions/ingest/handler.ts'],
    ['consumer', 'functions/consume/handler.ts'],
  ] as const) {
    const outdir = join(workDir, bundleSdk ? 'esbuild-sdk' : 'esbuild', name);
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    const file = join(outdir, 'index.mjs');
    await build({
      entryPoints: [join(repoRoot, entry)],
      outfile: file,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      minify: true,
      external: bundleSdk ? [] : ['@aws-sdk/*'],
      // The SDK's ES module builds tree-shake better than its CommonJS ones.
      mainFields: ['module', 'main'],
      // What CDK users add so bundled CommonJS can still `require` Node built-ins from ESM.
      banner: { js: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    bundles.push({ name, file, memoryMb: undefined, architecture: undefined, timeoutSeconds: undefined });
  }
  return bundles;
}

async function fromEsbuild(reason: string): Promise<BundleSource> {
  return {
    source: 'esbuild fallback',
    note: `${reason}; bundled functions/*/handler.ts with esbuild (ESM, minify, platform node, target node24, @aws-sdk/* external as NodejsFunction does by default)`,
    bundles: await esbuildBundles(false),
  };
}

export async function bundles(): Promise<BundleSource> {
  const cdk = fromCdk();
  return 'error' in cdk ? fromEsbuild(cdk.error) : cdk;
}

function timeProcess(args: string[]): { wallMs: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync(node, args, { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${result.stderr.slice(-600)}`);
  return { wallMs, stdout: result.stdout };
}

export async function benchColdStart(
  bundles: ReadonlyArray<{ name: string; file: string }>,
  options: { repeats: number },
): Promise<ColdStartFigure[]> {
  const figures: ColdStartFigure[] = [];
  const floor: number[] = [];
  const samples = new Map<string, { wall: number[]; importMs: number[]; withSourceMaps: number[] }>();
  for (const b of bundles) samples.set(b.name, { wall: [], importMs: [], withSourceMaps: [] });
  const script = (file: string) =>
    `const t=performance.now();const m=await import(${JSON.stringify(pathToFileURL(file).href)});` +
    `if(typeof m.handler!=='function')throw new Error('no handler');process.stdout.write(String(performance.now()-t));`;
  // One warm-up round fills the OS file cache, as a provisioned Lambda image would be.
  timeProcess(['-e', '0']);
  for (const b of bundles) timeProcess(['--input-type=module', '-e', script(b.file)]);
  for (let r = 0; r < options.repeats; r++) {
    floor.push(timeProcess(['-e', '0']).wallMs);
    for (const b of bundles) {
      const run = timeProcess(['--input-type=module', '-e', script(b.file)]);
      const s = samples.get(b.name);
      s?.wall.push(run.wallMs);
      s?.importMs.push(Number(run.stdout));
      s?.withSourceMaps.push(
        timeProcess(['--enable-source-maps', '--input-type=module', '-e', script(b.file)]).wallMs,
      );
    }
  }
  const floorMs = median(floor);
  for (const b of bundles) {
    const s = samples.get(b.name);
    if (!s) continue;
    const bytes = readFileSync(b.file);
    figures.push({
      name: b.name,
      bundleBytes: statSync(b.file).size,
      bundleGzipBytes: gzipSync(bytes).length,
      initAddsMs: round(median(s.wall) - floorMs),
      initAddsWithSourceMapsMs: round(median(s.withSourceMaps) - floorMs),
      importMs: round(median(s.importMs)),
      floorMs: round(floorMs),
    });
  }
  return figures;
}

if (import.meta.main) {
  const source = await bundles();
  console.log(source.source, '-', source.note);
  const sdk = (await esbuildBundles(true)).map((b) => ({ ...b, name: `${b.name} (SDK bundled)` }));
  console.table(await benchColdStart([...source.bundles, ...sdk], { repeats: 11 }));
}
