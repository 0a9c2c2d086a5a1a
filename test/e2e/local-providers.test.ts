import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPk, jobPk } from '#adapters/dynamo-store';
import { readableEvent } from '#core/records';
import { routePath } from '#core/routes';
import { providers, registry } from '#providers/index';
import { resourceNames } from '../../local/names.ts';
import { type RunningLocalStack, startLocalStack } from '../../local/runner.ts';
import { testProvider, testProviderDevKey } from '../support/test-provider.ts';
import { eventually, freePort } from './support.ts';

/**
 * A provider is the unit of extension: the local stack, started in this process with a registry
 * that holds one more provider than the real one (defined only in test/support), routes, logs,
 * authenticates, queues, consumes and stores that provider's deliveries, and prints it in the
 * banner, with no other file knowing about it.
 */
describe('the local stack serves whatever registry it is given', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'field-webhooks-providers-'));
  const served = registry([...providers.values(), testProvider]);
  let output = '';
  let stack: RunningLocalStack;
  let doc: DynamoDBDocumentClient;
  const names = resourceNames('local');

  beforeAll(async () => {
    stack = await startLocalStack({
      env: {
        PORT: String(await freePort()),
        DYNAMODB_PORT: String(await freePort()),
        SQS_PORT: String(await freePort()),
      },
      dataDir,
      out: {
        write: (line) => {
          output += line;
        },
      },
      providers: served,
    });
    doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.stack.dynamoEndpoint,
        region: stack.stack.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
  });

  afterAll(async () => {
    doc?.destroy();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const item = async (table: string, pk: string) => {
    // As a reader sees it: the body as `rawBody` text, the provider of every record.
    const found = (await doc.send(new GetCommand({ TableName: table, Key: { pk } }))).Item;
    return found && readableEvent(found);
  };

  it('takes the test provider its dev credentials and puts them in the banner', async () => {
    expect(stack.settings.providers).toBe(served);
    expect(stack.settings.credentials.test).toBe(testProviderDevKey);
    expect(stack.settings.devCredentials.test).toBe(true);
    expect(stack.settings.handlerEnv.TEST_PROVIDER_KEYS).toBe(testProviderDevKey);
    const { banner } = await import('../../local/banner.ts');
    const text = await banner(stack, { colour: false, reset: false });
    expect(text).toMatch(new RegExp(`^ {2}Test provider +POST ${stack.url}/webhooks/test$`, 'm'));
    expect(text).toMatch(new RegExp(`^ {2}Test provider +TEST_PROVIDER_KEYS +${testProviderDevKey}$`, 'm'));
  });

  it('stores a delivery to the test provider: its event and the job it names', async () => {
    const id = `evt-${randomUUID()}`;
    const jobId = `T-${randomUUID()}`;
    const body = JSON.stringify({
      id,
      type: 'job.completed',
      account: 'acct-1',
      at: new Date(Date.now() - 60_000).toISOString(),
      job: { id: jobId, status: 'completed', total: 125 },
    });
    const post = (key: string) =>
      fetch(`${stack.url}/webhooks/test`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test-key': key },
        body,
      });

    const refused = await post('not_the_key_0123456789');
    expect(refused.status).toBe(401);
    const response = await post(testProviderDevKey);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ status: 'accepted', provider: 'test', event_key: id });

    const event = await eventually(() => item(names.eventsTable, eventPk('test', id)), 'the event record');
    expect(event).toMatchObject({
      provider: 'test',
      eventKey: id,
      eventType: 'job.completed',
      outcome: 'applied',
      accountId: 'acct-1',
      entityIds: { job_id: jobId },
      rawBody: body,
    });
    const job = await item(names.jobsTable, jobPk('test', jobId));
    expect(job).toMatchObject({
      provider: 'test',
      jobId,
      accountId: 'acct-1',
      status: 'completed',
      total: 125,
      lastEventKey: id,
    });
    // The access log names the route's template, as for every provider.
    expect(output).toContain(`POST ${routePath(testProvider)}`);
    expect(output).toMatch(/event accepted .*provider=test/);
  });

  it('still serves the registry providers beside it', async () => {
    for (const provider of providers.values()) {
      expect(stack.settings.credentials[provider.name]).toBe(provider.credentials.env.dev);
    }
    const response = await fetch(`${stack.url}/webhooks/nowhere`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
  });
});
