import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import type { QueueMessage } from '#core/message';
import type { AnyProvider } from '#core/provider';
import { readableEvent } from '#core/records';
import { matchRoute, routePath } from '#core/routes';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { eventKey } from '#providers/zenbooker';
import { queueDepth } from '../../cli/redrive.ts';
import { resourceNames } from '../../local/names.ts';
import { fixture, fixtureNames, type ProviderName } from '../support/fixtures.ts';
import { alive, cli, eventually, freePort, portOpen, type Run, root, run, Service } from './support.ts';

/**
 * The whole local pipeline the way a user runs it: what `npm start` runs, as a child process with
 * free ports and a temporary data directory; real HTTP from outside; the CLI (and the printed
 * `npm run cli` command) to look at the result; and a Ctrl-C at the end.
 */
describe('npm start and the CLI, end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'field-webhooks-e2e-'));
  const env = { LOCAL_DATA_DIR: dataDir };
  let ports: { http: number; dynamodb: number; sqs: number };
  let stack: Service;
  let url: string;
  let secret: string;
  let token: string;
  let sqsEndpoint: string;
  let javaPid: number | undefined;
  let sqs: SQSClient;

  const json = <T>(result: Run): T => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const jobs = async (...args: string[]) =>
    json<Record<string, unknown>[]>(await cli(['jobs', '--json', ...args], env));
  const events = async (...args: string[]) =>
    json<Record<string, unknown>[]>(await cli(['events', '--json', '--limit', '500', ...args], env));
  const event = async (key: string) => {
    const result = await cli(['events', 'show', key, '--json'], env);
    return result.code === 0 ? (JSON.parse(result.stdout) as Record<string, unknown>) : undefined;
  };
  /** The credentials the banner prints for a provider (its variable, then the value). */
  const printedCredentials = (provider: AnyProvider) =>
    (
      new RegExp(`^ {2}${provider.title} +${provider.credentials.env.variable} +(\\S+)`, 'm').exec(
        stack.output,
      ) as RegExpExecArray
    )[1] as string;
  const deadLetters = async () =>
    json<{ messages: number; listed: { messageId: string; eventKey?: string }[] }>(
      await cli(['redrive', '--dry-run', '--json'], env),
    );

  async function post(provider: ProviderName, body: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    let target = `${url}/webhooks/zenbooker/${token}`;
    if (provider === 'cooledge') {
      headers['x-cooledge-signature'] = sign(body, secret, 'timestamped');
      target = `${url}/webhooks/cooledge`;
    }
    const response = await fetch(target, { method: 'POST', headers, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    ports = { http: await freePort(), dynamodb: await freePort(), sqs: await freePort() };
    // What `npm start` runs (asserted below). Under npm, a Ctrl-C ends npm itself by SIGINT
    // whatever its script returns (dash re-raises it), which would hide the runner's exit code.
    stack = new Service(join(root, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
      ...env,
      PORT: String(ports.http),
      DYNAMODB_PORT: String(ports.dynamodb),
      SQS_PORT: String(ports.sqs),
      // Short, so a poison message reaches the DLQ within seconds (5 receives).
      QUEUE_VISIBILITY_TIMEOUT_SECONDS: '3',
    });
    const ready = await stack.waitFor(/^ready: serving (\S+)/m, 90_000);
    url = ready[1] as string;
    secret = printedCredentials(providers.get('cooledge') as AnyProvider);
    token = printedCredentials(providers.get('zenbooker') as AnyProvider);
    sqsEndpoint = (/^\s*SQS\s+(http\S+)/m.exec(stack.output) as RegExpExecArray)[1] as string;
    javaPid = Number(readFileSync(join(dataDir, 'dynamodb.pid'), 'utf8'));
    sqs = new SQSClient({
      endpoint: sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    sqs?.destroy();
    // Only reached with the stack still up when something failed before the Ctrl-C test.
    const pidFile = join(dataDir, 'dynamodb.pid');
    if (!javaPid && existsSync(pidFile)) javaPid = Number(readFileSync(pidFile, 'utf8'));
    if (stack?.running()) {
      stack.signal('SIGINT');
      await Promise.race([stack.exit, new Promise((r) => setTimeout(r, 15_000))]);
      stack.signal('SIGKILL');
    }
    if (javaPid && alive(javaPid)) process.kill(javaPid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is what `npm start` runs', () => {
    const scripts = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.start).toBe('tsx local/start.ts');
    expect(scripts.cli).toBe('tsx cli/index.ts');
  });

  it('prints the webhook URLs, dev credentials, endpoints and a send command', () => {
    expect(url).toBe(`http://127.0.0.1:${ports.http}`);
    // One URL and one dev credential per provider of the registry, each a route of that provider.
    for (const provider of providers.values()) {
      const line = new RegExp(`^ {2}${provider.title} +POST ${url}(/\\S+)$`, 'm').exec(stack.output);
      expect(line, provider.name).not.toBeNull();
      const path = (line as RegExpExecArray)[1] as string;
      expect(matchRoute(path, providers)?.provider, path).toBe(provider);
      // Only a parameter that is no secret, or the public dev value, is filled in.
      if (provider.route.parameter) expect(path).not.toBe(routePath(provider));
      expect(printedCredentials(provider), provider.name).toBe(provider.credentials.env.dev);
    }
    expect(stack.output).toContain(`POST ${url}/webhooks/cooledge`);
    expect(stack.output).toContain(`POST ${url}/webhooks/zenbooker/${token}`);
    expect(stack.output).toContain(`POST ${url}/webhooks/standard/local`);
    expect(stack.output).toMatch(/COOLEDGE_WEBHOOK_SECRETS +\S+ +\(scheme timestamped\)$/m);
    expect(stack.output).toContain(`DynamoDB    http://127.0.0.1:${ports.dynamodb}`);
    expect(sqsEndpoint).toBe(`http://127.0.0.1:${ports.sqs}`);
    expect(stack.output).toMatch(/npm run cli -- send --data-dir \S+/);
    expect(stack.output).not.toMatch(/ExperimentalWarning/);
  });

  it('stores every fixture sent over HTTP, readable through the CLI', async () => {
    const sent: { provider: ProviderName; name: string; key: string }[] = [];
    for (const provider of ['cooledge', 'zenbooker'] as const) {
      for (const name of fixtureNames(provider)) {
        const body = JSON.stringify(fixture(provider, name));
        const response = await post(provider, body);
        expect(response, `${provider} ${name}`).toMatchObject({
          status: 202,
          body: { status: 'accepted', provider },
        });
        sent.push({ provider, name, key: response.body.event_key as string });
      }
    }
    // The Zenbooker retry is the same delivery: one event, not two.
    const distinct = new Set(sent.map((s) => `${s.provider}#${s.key}`));
    expect(distinct.size).toBe(sent.length - 1);

    const stored = await eventually(async () => {
      const all = await events();
      return all.length >= distinct.size ? all : undefined;
    }, 'every fixture in the event log');
    expect(stored).toHaveLength(distinct.size);
    const outcome = (provider: string, name: string) => {
      const key = sent.find((s) => s.name === name && s.provider === provider)?.key;
      return stored.find((e) => e.provider === provider && e.eventKey === key)?.outcome;
    };
    expect(outcome('cooledge', 'lead.created')).toBe('recorded');
    expect(outcome('cooledge', 'invoice.paid')).toBe('applied');
    expect(outcome('zenbooker', 'job.started.v2025')).toBe('applied');

    // Whatever order one batch applied them in, the job ends at its newest event.
    const jobId = '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18';
    const [job] = await jobs(
      '--account',
      fixture('cooledge', 'invoice.paid').business_id as string,
      '--limit',
      '100',
    ).then((all) => all.filter((j) => j.jobId === jobId));
    expect(job).toMatchObject({ lastEventType: 'invoice.paid', status: 'completed', total: 462 });

    // An event older than the job's state, delivered now, is recorded as stale.
    const late = {
      ...fixture('cooledge', 'booking.created'),
      event_id: randomUUID(),
      occurred_at: '2026-06-01T00:00:00.000Z',
    };
    expect((await post('cooledge', JSON.stringify(late))).status).toBe(202);
    const stale = await eventually(async () => {
      const found = await events('--outcome', 'stale', '--provider', 'cooledge');
      return found.some((e) => e.eventKey === late.event_id) ? found : undefined;
    }, 'the late event recorded as stale');
    expect(stale.every((e) => e.outcome === 'stale')).toBe(true);

    const business = fixture('cooledge', 'job.completed').business_id as string;
    const cooledgeJobs = await jobs('--account', business, '--provider', 'cooledge');
    expect(cooledgeJobs.map((j) => j.jobId).sort()).toEqual(
      ['5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18', '9e2f7a15-4b8c-4d31-a6e0-71c5d3b9f248'].sort(),
    );
    expect(cooledgeJobs.every((j) => j.payload === undefined)).toBe(true);

    const zenbookerJob = json<Record<string, unknown>>(
      await cli(
        ['jobs', 'show', '1571382643450x202948477110764130', '--provider', 'zenbooker', '--json'],
        env,
      ),
    );
    // Ordered by receive time: the completion, sent after the cancellation, is the job's state.
    expect(zenbookerJob).toMatchObject({
      provider: 'zenbooker',
      accountId: '1571029418512x639482157734019100',
      lastEventType: 'job.completed',
      status: 'completed',
      canceled: false,
    });

    const table = await cli(['jobs'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PROVIDER\s+JOB\s+ACCOUNT\s+STATUS/);
    expect(table.stdout).toContain('1781604223917x530184412857261400');
  });

  it('stores the event sent by the printed command within seconds', async () => {
    const command = (/^\s*(npm run cli -- send\b.*)$/m.exec(stack.output) as RegExpExecArray)[1] as string;
    const started = performance.now();
    const result = await run(command, [], {}, true);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^202 accepted {2}cooledge job\.completed/m);
    const jobId = (/job ([0-9a-f-]{36})/.exec(result.stdout) as RegExpExecArray)[1] as string;
    const job = await eventually(async () => {
      const found = await jobs('--provider', 'cooledge', '--limit', '50');
      return found.find((j) => j.jobId === jobId);
    }, 'the sample job');
    expect(job).toMatchObject({ status: 'completed', lastEventType: 'job.completed' });
    // Upper bound: includes the CLI starts used to look.
    console.info(
      `send command → job readable through the CLI: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it('moves a poison message to the DLQ, and redrive puts DLQ messages back on the queue', async () => {
    const queueUrl = `${sqsEndpoint}/000000000000/local-webhook-events`;
    const dlqUrl = `${queueUrl}-dlq`;
    const poison = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"not": "a queue message"' }),
    );
    const first = await eventually(
      async () => {
        const dlq = await deadLetters();
        return dlq.listed.some((m) => m.messageId === poison.MessageId) ? dlq : undefined;
      },
      'the poison message in the DLQ',
      60_000,
      1_000,
    );
    expect(first.messages).toBe(1);
    expect(stack.output).toMatch(
      /event failed .*receiveCount=5 error="PoisonMessageError: message is not JSON"/,
    );

    // An event that failed for a reason since fixed sits in the DLQ next to it.
    const body = { ...fixture('cooledge', 'job.completed'), event_id: randomUUID(), job_id: randomUUID() };
    const message: QueueMessage = {
      v: 1,
      provider: 'cooledge',
      eventKey: body.event_id,
      eventType: 'job.completed',
      receivedAt: new Date().toISOString(),
      bodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
      headers: { 'content-type': 'application/json' },
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(message) }));

    const moved = json<{ moved: number; failed: number }>(await cli(['redrive', '--json'], env));
    expect(moved).toMatchObject({ moved: 2, failed: 0 });

    const job = await eventually(async () => {
      const found = await cli(['jobs', 'show', body.job_id, '--json'], env);
      return found.code === 0 ? (JSON.parse(found.stdout) as Record<string, unknown>) : undefined;
    }, 'the redriven event applied');
    expect(job).toMatchObject({ jobId: body.job_id, lastEventKey: body.event_id });
    // The poison message went round again (five more receives) and is back in the DLQ.
    await eventually(
      async () => ((await deadLetters()).messages === 1 ? true : undefined),
      'the poison message back in the DLQ',
      60_000,
      1_000,
    );
  });

  it('replays a quarantined event from its stored body', async () => {
    const body = JSON.stringify({
      ...fixture('cooledge', 'job.completed'),
      event_id: randomUUID(),
      status: 42,
    });
    const response = await post('cooledge', body);
    expect(response).toMatchObject({ status: 202, body: { status: 'quarantined' } });
    const key = response.body.event_key as string;
    const quarantined = await eventually(() => event(key), 'the quarantined event');
    expect(quarantined).toMatchObject({ outcome: 'quarantined', issues: [{ path: 'status' }] });
    expect(quarantined.replayedAt).toBeUndefined();

    const dry = json<{ dryRun: boolean; events: { eventKey: string }[] }>(
      await cli(['replay', '--outcome', 'quarantined', '--dry-run', '--json'], env),
    );
    expect(dry.events.map((e) => e.eventKey)).toContain(key);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await event(key))?.replayedAt).toBeUndefined();

    expect(json<{ replayed: number }>(await cli(['replay', '--key', key, '--json'], env)).replayed).toBe(1);
    const replayed = await eventually(
      async () => ((await event(key))?.replayedAt ? await event(key) : undefined),
      'the replayed record',
    );
    // Validated again with today's schema: still quarantined, its record overwritten by the replay.
    expect(replayed).toMatchObject({ outcome: 'quarantined', receivedAt: quarantined.receivedAt });
  });

  it('redrives large messages in requests under the 1 MiB batch limit', async () => {
    // Queues of their own, so the consumer never sees these messages.
    const queueUrl = async (name: string) =>
      (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
    const [from, to] = [await queueUrl('e2e-large-dlq'), await queueUrl('e2e-large-queue')];
    for (let i = 0; i < 3; i += 1) {
      // A 320 KiB body in its envelope: about 440 KB, so three exceed one request.
      const message: QueueMessage = {
        v: 1,
        provider: 'cooledge',
        eventKey: randomUUID(),
        eventType: 'job.completed',
        receivedAt: new Date().toISOString(),
        bodyBase64: Buffer.alloc(320 * 1024, i).toString('base64'),
        headers: {},
      };
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: from,
          MessageBody: JSON.stringify(message),
          MessageAttributes: { provider: { DataType: 'String', StringValue: 'cooledge' } },
        }),
      );
    }
    const moved = json<{ moved: number; failed: number }>(
      await cli(['redrive', '--dlq-url', from, '--queue-url', to, '--json'], env),
    );
    expect(moved).toMatchObject({ moved: 3, failed: 0 });
    expect(await queueDepth(sqs, to)).toBe(3);
    expect(await queueDepth(sqs, from)).toBe(0);
  });

  it('replays every matching event, oldest first, however many match', async () => {
    // More than the thousand the CLI once stopped at, stored as the consumer stores them.
    const type = `e2e.replay-all-${randomUUID().slice(0, 8)}`;
    const keys = Array.from({ length: 1005 }, (_, i) => `replay-all-${String(i).padStart(4, '0')}`);
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${ports.dynamodb}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    try {
      const items = keys.map((key, i) => {
        const receivedAt = new Date(Date.UTC(2020, 0, 1) + i * 1000).toISOString();
        return {
          pk: eventPk('cooledge', key),
          provider: 'cooledge',
          eventKey: key,
          eventType: type,
          outcome: 'quarantined',
          receivedAt,
          processedAt: receivedAt,
          rawBody: JSON.stringify({ event_id: key }),
          headers: { 'content-type': 'application/json' },
        };
      });
      for (let i = 0; i < items.length; i += 25) {
        const out = await doc.send(
          new BatchWriteCommand({
            RequestItems: {
              [resourceNames('local').eventsTable]: items
                .slice(i, i + 25)
                .map((Item) => ({ PutRequest: { Item } })),
            },
          }),
        );
        expect(out.UnprocessedItems ?? {}).toEqual({});
      }
    } finally {
      doc.destroy();
    }

    const dry = json<{ events: { eventKey: string }[] }>(
      await cli(['replay', '--type', type, '--dry-run', '--json'], env),
    );
    expect(dry.events.map((e) => e.eventKey)).toEqual(keys);

    const queue = (await sqs.send(new CreateQueueCommand({ QueueName: 'e2e-replay-all' })))
      .QueueUrl as string;
    const replayed = json<{ replayed: number; skipped: number }>(
      await cli(['replay', '--type', type, '--queue-url', queue, '--json'], env),
    );
    expect(replayed).toEqual(expect.objectContaining({ replayed: keys.length, skipped: 0 }));
    expect(await queueDepth(sqs, queue)).toBe(keys.length);
  });

  it('stores a Standard Webhooks delivery signed with the dev secret of the local source', async () => {
    const [source, signingSecret] = printedCredentials(providers.get('standard') as AnyProvider).split(
      '=',
      2,
    ) as [string, string];
    expect(source).toBe('local');
    const id = `msg_${randomUUID()}`;
    const jobId = `J-${randomUUID()}`;
    const sent = new Date();
    const body = JSON.stringify({
      type: 'job.completed',
      timestamp: new Date(sent.getTime() - 60_000).toISOString(),
      data: { job_id: jobId, account_id: 'acme-hq', status: 'completed' },
    });
    const headers = {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sent.getTime() / 1000)),
      'webhook-signature': new Webhook(signingSecret).sign(id, sent, body),
    };
    const response = await fetch(`${url}/webhooks/standard/local`, { method: 'POST', headers, body });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      status: 'accepted',
      provider: 'standard',
      event_key: `local:${id}`,
    });
    // Signed with another secret: refused, as an unknown source is.
    const forged = {
      ...headers,
      'webhook-signature': new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).sign(
        id,
        sent,
        body,
      ),
    };
    expect(
      (await fetch(`${url}/webhooks/standard/local`, { method: 'POST', headers: forged, body })).status,
    ).toBe(401);
    expect((await fetch(`${url}/webhooks/standard/other`, { method: 'POST', headers, body })).status).toBe(
      401,
    );

    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${ports.dynamodb}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const names = resourceNames('local');
    const item = async (table: string, pk: string) => {
      // As a reader sees it: the body as `rawBody` text, the provider of every record.
      const found = (await doc.send(new GetCommand({ TableName: table, Key: { pk } }))).Item;
      return found && readableEvent(found);
    };
    try {
      const event = await eventually(
        () => item(names.eventsTable, eventPk('standard', `local:${id}`)),
        'the Standard Webhooks event',
      );
      expect(event).toMatchObject({
        provider: 'standard',
        eventType: 'job.completed',
        outcome: 'applied',
        accountId: 'acme-hq',
        rawBody: body,
      });
      // Keyed under its source: two senders' job ids never meet.
      expect(await item(names.jobsTable, jobPk('standard', `local:${jobId}`))).toMatchObject({
        provider: 'standard',
        jobId: `local:${jobId}`,
        accountId: 'acme-hq',
        status: 'completed',
        lastEventKey: `local:${id}`,
      });
    } finally {
      doc.destroy();
    }
  });

  it('keeps the dedupe key of a Zenbooker delivery stable across HTTP', async () => {
    const body = fixture('zenbooker', 'job.started.v2025');
    const response = await post('zenbooker', JSON.stringify({ ...body, retry_count: 3 }));
    expect(response.body.event_key).toBe(eventKey(body));
  });

  it('stops cleanly on Ctrl-C: drains, exits 0, frees every port', async () => {
    stack.signal('SIGINT');
    const code = await Promise.race([
      stack.exit,
      new Promise((_, reject) => setTimeout(() => reject(new Error('did not stop within 30 s')), 30_000)),
    ]);
    expect(code, stack.output).toBe(0);
    expect(stack.output).toMatch(/^stopped \(/m);
    for (const port of Object.values(ports)) expect(await portOpen(port), `port ${port}`).toBe(false);
    expect(alive(javaPid as number)).toBe(false);
  });
});
