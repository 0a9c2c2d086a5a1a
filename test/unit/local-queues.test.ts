import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { maxReceiveCount } from '#infra/definitions';
import { createQueues, resourceNames, sqsClient, startSqsEmulator } from '../../local/stack.ts';

/**
 * `createQueues` against the SQS emulator `npm start` runs (fauxqs, in this process): a data
 * folder kept from a run with another `QUEUE_VISIBILITY_TIMEOUT_SECONDS` must start, with the new
 * value applied, instead of failing with "A queue already exists … different value".
 */
describe('local queues: changed settings on existing queues', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function emulator(dataDir?: string): Promise<SQSClient> {
    const sqs = await startSqsEmulator({ port: 0, ...(dataDir ? { dataDir } : {}) });
    const client = sqsClient(sqs.endpoint);
    cleanups.push(async () => {
      client.destroy();
      await sqs.stop();
    });
    return client;
  }

  const attributes = async (client: SQSClient, queueUrl: string) =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] })))
      .Attributes ?? {};

  it('applies a new visibility timeout to a queue that exists with another', async () => {
    const client = await emulator();
    const names = resourceNames('vt-change');
    const first = await createQueues(client, names, 30);
    expect((await attributes(client, first.queueUrl)).VisibilityTimeout).toBe('30');

    const second = await createQueues(client, names, 5);
    expect(second).toEqual(first);
    const after = await attributes(client, second.queueUrl);
    expect(after.VisibilityTimeout).toBe('5');
    // The rest of the queue's settings are still the shared ones, redrive policy included.
    const redrive = JSON.parse(after.RedrivePolicy as string) as { maxReceiveCount: unknown };
    expect(Number(redrive.maxReceiveCount)).toBe(maxReceiveCount);

    // And back, and again with the same value (the plain idempotent case).
    await createQueues(client, names, 180);
    await createQueues(client, names, 180);
    expect((await attributes(client, first.queueUrl)).VisibilityTimeout).toBe('180');
  });

  it('restarts on a persisted data folder with another timeout, as `npm start` does', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'local-queues-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const names = resourceNames('local');

    const before = await emulator(dataDir);
    await createQueues(before, names, 180);
    await (cleanups.pop() as () => Promise<void>)();

    const after = await emulator(dataDir);
    const urls = await createQueues(after, names, 3);
    expect((await attributes(after, urls.queueUrl)).VisibilityTimeout).toBe('3');
  });
});
