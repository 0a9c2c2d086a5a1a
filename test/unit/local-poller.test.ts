import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  batchItemFailures,
  InvalidBatchResponseError,
  type SqsHandler,
  SqsPoller,
} from '../../local/poller.ts';

/**
 * The local poller applies a consumer's partial batch response the way Lambda's SQS event source
 * mapping does (Lambda developer guide, "Implementing partial batch responses"): success for a
 * null or empty response and for a null or empty `batchItemFailures`; the listed records only when
 * every item names a record of the batch; and the whole batch failed — nothing deleted — when the
 * response is invalid.
 */

const messages: Message[] = ['m-1', 'm-2', 'm-3'].map((id, i) => ({
  MessageId: id,
  ReceiptHandle: `rh-${i + 1}`,
  Body: '{}',
  Attributes: { ApproximateReceiveCount: '1' },
}));

/** An SQS client that hands out one batch, then nothing, and records what was deleted. */
function fakeSqs() {
  const deleted: string[] = [];
  let handedOut = false;
  const client = {
    send: async (command: unknown) => {
      if (command instanceof ReceiveMessageCommand) {
        if (handedOut) return { Messages: [] };
        handedOut = true;
        return { Messages: messages };
      }
      if (command instanceof DeleteMessageBatchCommand) {
        for (const entry of command.input.Entries ?? []) deleted.push(entry.ReceiptHandle as string);
        return { Successful: command.input.Entries?.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      throw new Error(`unexpected command ${(command as object).constructor.name}`);
    },
  } as unknown as SQSClient;
  return { client, deleted };
}

async function runOnce(response: unknown) {
  const { client, deleted } = fakeSqs();
  const errors: unknown[] = [];
  const poller = new SqsPoller({
    client,
    queueUrl: 'http://127.0.0.1:4566/000000000000/local-webhook-events',
    handler: (async () => response) as SqsHandler,
    batchingWindowSeconds: 0,
    waitTimeSeconds: 0,
    onInvokeError: (error) => errors.push(error),
  });
  const result = await poller.pollOnce();
  return { result, deleted, errors };
}

const everything = ['rh-1', 'rh-2', 'rh-3'];

describe('local poller: partial batch responses as Lambda reads them', () => {
  it.each([
    ['an undefined response', undefined],
    ['a null response', null],
    ['an empty response', {}],
    ['a null batchItemFailures', { batchItemFailures: null }],
    ['an empty batchItemFailures', { batchItemFailures: [] }],
  ])('treats %s as success: every record is deleted', async (_, response) => {
    const { result, deleted, errors } = await runOnce(response);
    expect(result).toEqual({ received: 3, failed: 0 });
    expect(deleted).toEqual(everything);
    expect(errors).toEqual([]);
  });

  it('deletes all but the records reported as failed', async () => {
    const { result, deleted, errors } = await runOnce({
      batchItemFailures: [{ itemIdentifier: 'm-2' }, { itemIdentifier: 'm-2' }],
    } satisfies SQSBatchResponse);
    expect(result).toEqual({ received: 3, failed: 1 });
    expect(deleted).toEqual(['rh-1', 'rh-3']);
    expect(errors).toEqual([]);
  });

  it('deletes nothing when every record is reported as failed', async () => {
    const { result, deleted } = await runOnce({
      batchItemFailures: ['m-3', 'm-1', 'm-2'].map((itemIdentifier) => ({ itemIdentifier })),
    });
    expect(result).toEqual({ received: 3, failed: 3 });
    expect(deleted).toEqual([]);
  });

  it.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a missing itemIdentifier', { batchItemFailures: [{}] }],
    ['an itemIdentifier under a wrong key name', { batchItemFailures: [{ ItemIdentifier: 'm-1' }] }],
    ['an itemIdentifier that is not a string', { batchItemFailures: [{ itemIdentifier: 1 }] }],
    ['an id that is not in the batch', { batchItemFailures: [{ itemIdentifier: 'm-9' }] }],
    [
      'one unknown id next to a valid one',
      { batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'not-in-batch' }] },
    ],
    ['a null item', { batchItemFailures: [null] }],
    ['an item that is a bare id', { batchItemFailures: ['m-1'] }],
    ['a batchItemFailures that is an object', { batchItemFailures: { itemIdentifier: 'm-1' } }],
    ['a batchItemFailures that is a string', { batchItemFailures: 'm-1' }],
    ['a response that is a string', 'ok'],
    ['a response that is a list', [{ itemIdentifier: 'm-1' }]],
  ])('fails the whole batch on %s: nothing is deleted', async (_, response) => {
    const { result, deleted, errors } = await runOnce(response);
    expect(result).toEqual({ received: 3, failed: 3 });
    expect(deleted).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidBatchResponseError);
    expect((errors[0] as Error).message).toMatch(/^invalid partial batch response: /);
  });

  it('fails the whole batch when the handler throws', async () => {
    const { client, deleted } = fakeSqs();
    const errors: unknown[] = [];
    const poller = new SqsPoller({
      client,
      queueUrl: 'http://127.0.0.1:4566/000000000000/q',
      handler: async () => {
        throw new Error('boom');
      },
      batchingWindowSeconds: 0,
      waitTimeSeconds: 0,
      onInvokeError: (error) => errors.push(error),
    });
    expect(await poller.pollOnce()).toEqual({ received: 3, failed: 3 });
    expect(deleted).toEqual([]);
    expect(errors).toEqual([new Error('boom')]);
  });

  it('names the failed ids of a valid response and says why an invalid one is refused', () => {
    const ids = ['a', 'b'];
    expect(batchItemFailures({ batchItemFailures: [{ itemIdentifier: 'b' }] }, ids)).toEqual(new Set(['b']));
    expect(batchItemFailures(undefined, ids)).toEqual(new Set());
    expect(String(batchItemFailures({ batchItemFailures: [{ itemIdentifier: 'c' }] }, ids))).toBe(
      'InvalidBatchResponseError: invalid partial batch response: batchItemFailures[0].itemIdentifier is not a message of this batch',
    );
    expect(String(batchItemFailures({ batchItemFailures: 7 }, ids))).toMatch(/is not a list$/);
  });
});
