import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { resolveOffline, resourcesOf, synthesize } from './support.ts';

const outdir = mkdtempSync(join(tmpdir(), 'cdk-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Fails the test if a dependency balloons (each bundle is about 0.3 MB today). */
const bundleBudgetBytes = 1.5 * 1024 * 1024;

it('bundles every function (ingest, consumer, publish) locally into self-contained CommonJS files that load with their template environment', () => {
  const { template } = synthesize({}, { bundle: true, outdir });

  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  expect(functions).toHaveLength(3);
  for (const [id, fn] of functions) {
    // The code's S3 key is `<asset hash>.zip`; the staged asset sits in `asset.<hash>`.
    const assetHash = (fn.Properties.Code.S3Key as string).replace(/\.zip$/, '');
    const assetDir = join(outdir, `asset.${assetHash}`);
    // One CommonJS file and its source map: no node_modules, nothing for the runtime to resolve but
    // the imports no code run on Lambda reaches (`unreachableOnLambda`, test/cdk/bundle-lean.test.ts).
    expect(readdirSync(assetDir).sort(), id).toEqual(['index.js', 'index.js.map']);
    const bundle = join(assetDir, 'index.js');
    expect(statSync(bundle).size, id).toBeLessThan(bundleBudgetBytes);
    expect(readFileSync(bundle, 'utf8'), id).toMatch(/^"use strict";/);

    // Load it outside the repository as Lambda's runtime loads a `.js` handler (`require`), with
    // exactly the environment the template sets (pseudo-parameters filled in) and a region. Module
    // initialisation validates that environment and builds the clients, so a missing variable or an
    // unbundled import fails here.
    const variables = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    const environment = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolveOffline(v)]));
    const script = `const m = require(${JSON.stringify(bundle)}); console.log(Object.keys(m).join(',') + ':' + typeof m.handler);`;
    const result = spawnSync(process.execPath, ['--eval', script], {
      cwd: outdir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ...environment },
    });
    expect(result.stderr, id).toBe('');
    expect(result.status, id).toBe(0);
    expect(result.stdout.trim(), id).toBe('handler:function');
  }
});
