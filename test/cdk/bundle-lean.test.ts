import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyStructuredResultV2, DynamoDBBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '#providers/cooledge';
import { unreachableOnLambda } from '../../cdk/node-function.ts';
import { apiEvent } from '../support/api-event.ts';
import { fixture } from '../support/fixtures.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { resolveOffline, resourcesOf, synthesize } from './support.ts';

/**
 * The Lambda bundles leave out what no code run on Lambda reaches (`unreachableOnLambda` in
 * cdk/node-function.ts), for the cold start, and still work: loaded as Lambda's runtime loads a
 * `.js` handler, they sign every AWS request with the credentials Lambda puts in the environment.
 */

const outdir = mkdtempSync(join(tmpdir(), 'cdk-bundle-lean-'));
const home = mkdtempSync(join(tmpdir(), 'cdk-bundle-lean-home-'));
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

interface Bundle {
  file: string;
  /** The template's environment of the function, pseudo-parameters filled in. */
  environment: Record<string, string>;
}

type BundleName = 'ingest' | 'consumer' | 'publish';

const bundles = new Map<BundleName, Bundle>();

beforeAll(() => {
  const { template } = synthesize({}, { bundle: true, outdir });
  for (const [id, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
    const name = /^Ingest/.test(id)
      ? 'ingest'
      : /^Consumer/.test(id)
        ? 'consumer'
        : /^JobEventsPublish/.test(id)
          ? 'publish'
          : undefined;
    if (!name) continue;
    const assetHash = (fn.Properties.Code.S3Key as string).replace(/\.zip$/, '');
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    bundles.set(name, {
      file: join(outdir, `asset.${assetHash}`, 'index.js'),
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolveOffline(v)])),
    });
  }
}, 120_000);

function bundleOf(name: BundleName): Bundle {
  const bundle = bundles.get(name);
  if (!bundle) throw new Error(`no ${name} function in the template`);
  return bundle;
}

/** Whether a source map entry is a file of `module` (a package, or a package's subpath export). */
function isFileOf(module: string, source: string): boolean {
  const [scope, name, ...subpath] = module.split('/');
  return (
    source.includes(`node_modules/${scope}/${name}/`) &&
    (subpath.length === 0 || source.includes(`/${subpath.join('/')}/`))
  );
}

describe.each(['ingest', 'consumer', 'publish'] as const)('the %s bundle', (name) => {
  it('holds no file of a module Lambda never runs, nor of the SDK clients only those use', () => {
    const { sources } = JSON.parse(readFileSync(`${bundleOf(name).file}.map`, 'utf8')) as {
      sources: string[];
    };
    // The check can see a package: the credential source that does run is there.
    expect(sources.some((s) => isFileOf('@aws-sdk/credential-provider-env', s))).toBe(true);
    // `nested-clients` holds the STS, SSO and sign-in clients the left-out credential sources call.
    for (const module of [...unreachableOnLambda, '@aws-sdk/nested-clients']) {
      expect(
        sources.filter((s) => isFileOf(module, s)),
        module,
      ).toEqual([]);
    }
  });

  it('is CommonJS that reaches a left-out module only through import(), never at load', () => {
    const code = readFileSync(bundleOf(name).file, 'utf8');
    expect(code).not.toMatch(/\bimport\.meta\b/);
    for (const module of unreachableOnLambda) {
      expect(code, module).not.toContain(`require("${module}")`);
    }
  });
});

interface AwsCall {
  /** The `X-Amz-Target` header: the service and operation, e.g. `AmazonSQS.SendMessage`. */
  target: string;
  /** The access key id and the service in the SigV4 credential scope. */
  accessKeyId: string | undefined;
  service: string | undefined;
  sessionToken: string | undefined;
  body: Record<string, unknown>;
}

/**
 * One local HTTP endpoint standing in for Secrets Manager, SQS and DynamoDB (all JSON protocols):
 * it records every call and answers as the service would when all goes well.
 */
async function fakeAws(secretString: string) {
  const calls: AwsCall[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      const target = String(req.headers['x-amz-target'] ?? '');
      const scope = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
        String(req.headers.authorization ?? ''),
      );
      calls.push({
        target,
        accessKeyId: scope?.[1],
        service: scope?.[2],
        sessionToken: req.headers['x-amz-security-token'] as string | undefined,
        body,
      });
      const answer = target.startsWith('secretsmanager.')
        ? { Name: body.SecretId, SecretString: secretString }
        : target === 'AWSEvents.PutEvents'
          ? {
              FailedEntryCount: 0,
              Entries: (body.Entries as unknown[]).map((_, i) => ({ EventId: `event-${i}` })),
            }
          : target === 'AmazonSQS.SendMessage'
            ? {
                MessageId: 'a5e0c3d2-0000-4000-8000-000000000001',
                MD5OfMessageBody: createHash('md5')
                  .update(String(body.MessageBody ?? ''))
                  .digest('hex'),
              }
            : {};
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** What Lambda's runtime puts in every function's environment: its role's credentials. */
const lambdaCredentials = {
  AWS_ACCESS_KEY_ID: 'ASIABUNDLETEST0000001',
  AWS_SECRET_ACCESS_KEY: 'bundle-test-secret-access-key-0000000000',
  AWS_SESSION_TOKEN: 'bundle-test-session-token',
};

/**
 * Loads a bundle in a fresh Node process as Lambda's runtime loads a `.js` handler (`require`),
 * with `environment`, calls its handler with `event` and returns what the handler returned.
 */
async function invoke(bundle: Bundle, environment: Record<string, string>, event: unknown): Promise<unknown> {
  const script = `const { handler } = require(${JSON.stringify(bundle.file)});
let input = '';
process.stdin.on('data', (d) => { input += d; }).on('end', async () => {
  const result = await handler(JSON.parse(input));
  process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');
});`;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: outdir,
    // No profile, no shared files to fall back on: only what the environment says.
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AWS_REGION: 'us-east-1',
      ...bundle.environment,
      ...environment,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  child.stdin.end(JSON.stringify(event));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`exit ${code}: ${stderr.slice(-800)}\n${stdout.slice(-800)}`);
  return JSON.parse(line.slice('RESULT '.length));
}

it('ingests and consumes a delivery, signing every AWS call with the environment’s credentials', async () => {
  const secret = 'whsec_bundle_test_0123456789abcdef';
  const aws = await fakeAws(JSON.stringify({ cooledge: { secrets: [secret] } }));
  try {
    const environment = { ...lambdaCredentials, AWS_ENDPOINT_URL: aws.url };
    const body = JSON.stringify(fixture('cooledge', 'job.completed'));
    const delivery = apiEvent('POST', '/webhooks/cooledge', body, {
      'content-type': 'application/json',
      'x-cooledge-signature': sign(body, secret, 'timestamped'),
    });
    const ingested = (await invoke(
      bundleOf('ingest'),
      // The queue on the same endpoint: the SQS client sends to the queue URL's host.
      { ...environment, QUEUE_URL: `${aws.url}/123456789012/webhook-events` },
      delivery,
    )) as APIGatewayProxyStructuredResultV2;
    expect(ingested.statusCode, String(ingested.body)).toBe(202);
    expect(aws.calls.map((c) => c.target)).toEqual([
      'secretsmanager.GetSecretValue',
      'AmazonSQS.SendMessage',
    ]);
    const message = String(aws.calls[1]?.body.MessageBody);

    const consumed = (await invoke(
      bundleOf('consumer'),
      environment,
      sqsEvent([message]),
    )) as SQSBatchResponse;
    expect(consumed.batchItemFailures).toEqual([]);

    const calls = aws.calls.slice(2);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.target.startsWith('DynamoDB_20120810.'))).toBe(true);
    for (const call of aws.calls) {
      expect(call, call.target).toMatchObject({
        accessKeyId: lambdaCredentials.AWS_ACCESS_KEY_ID,
        sessionToken: lambdaCredentials.AWS_SESSION_TOKEN,
      });
    }
    expect(aws.calls.map((c) => c.service)).toEqual([
      'secretsmanager',
      'sqs',
      ...calls.map(() => 'dynamodb'),
    ]);
  } finally {
    await aws.close();
  }
});

it('publishes a job change from a stream record, signing PutEvents with the environment’s credentials', async () => {
  const aws = await fakeAws('{}');
  try {
    const job = marshall({
      pk: 'cooledge#job-1',
      provider: 'cooledge',
      jobId: 'job-1',
      status: 'scheduled',
      eventCount: 1,
      lastEventKey: 'evt-1',
      lastEventType: 'job.created',
      lastEventAt: '2026-06-17T14:00:00.000Z',
      createdAt: '2026-06-20T00:00:00.000Z',
      updatedAt: '2026-06-20T00:00:00.000Z',
    });
    const record = {
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: { Keys: { pk: job.pk }, NewImage: job, SequenceNumber: '100000000000000000001' },
    };
    const published = (await invoke(
      bundleOf('publish'),
      { ...lambdaCredentials, AWS_ENDPOINT_URL: aws.url },
      { Records: [record] },
    )) as DynamoDBBatchResponse;
    expect(published.batchItemFailures).toEqual([]);
    expect(aws.calls.map((c) => [c.target, c.service])).toEqual([['AWSEvents.PutEvents', 'events']]);
    expect(aws.calls[0]).toMatchObject({
      accessKeyId: lambdaCredentials.AWS_ACCESS_KEY_ID,
      sessionToken: lambdaCredentials.AWS_SESSION_TOKEN,
      body: {
        Entries: [
          expect.objectContaining({
            Source: 'field-webhooks',
            DetailType: 'Job Created',
            EventBusName: 'field-webhooks-prod-job-events',
          }),
        ],
      },
    });
  } finally {
    await aws.close();
  }
});
