import type { Message } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueMessage } from '#core/message';
import { batchPayloadLimit, messageSize, sendBatches } from '../../cli/redrive.ts';

/** A DLQ message as ingest sends it: the envelope around a base64 body, and two label attributes. */
function deadLetter(bodyBytes: number, id = 'm'): Message {
  const message: QueueMessage = {
    v: 1,
    provider: 'cooledge',
    eventKey: id,
    eventType: 'job.completed',
    receivedAt: '2026-06-17T12:00:00.000Z',
    bodyBase64: Buffer.alloc(bodyBytes, 'x').toString('base64'),
    headers: { 'content-type': 'application/json' },
  };
  return {
    MessageId: id,
    Body: JSON.stringify(message),
    MessageAttributes: {
      provider: { DataType: 'String', StringValue: 'cooledge' },
      eventType: { DataType: 'String', StringValue: 'job.completed' },
    },
  };
}

const total = (batch: readonly Message[]) => batch.reduce((sum, m) => sum + messageSize(m), 0);

describe('cli redrive: splitting a received batch for SendMessageBatch', () => {
  it('keeps ten large messages under the 1 MiB request limit', () => {
    const received = Array.from({ length: 10 }, (_, i) => deadLetter(320 * 1024, `m${i}`));
    expect(messageSize(received[0] as Message)).toBeGreaterThan(430_000);
    const batches = sendBatches(received);
    expect(batches.map((b) => b.length)).toEqual([2, 2, 2, 2, 2]);
    for (const batch of batches) expect(total(batch)).toBeLessThanOrEqual(batchPayloadLimit);
    expect(batches.flat()).toEqual(received);
  });

  it('sends small messages ten to a request', () => {
    const received = Array.from({ length: 23 }, (_, i) => deadLetter(100, `m${i}`));
    expect(sendBatches(received).map((b) => b.length)).toEqual([10, 10, 3]);
  });

  it('counts attribute names, types and values, not only bodies', () => {
    const message = { Body: 'b'.repeat(45), MessageAttributes: deadLetter(0).MessageAttributes };
    // 45 + ("provider" + "String" + "cooledge") + ("eventType" + "String" + "job.completed")
    expect(messageSize(message)).toBe(45 + 22 + 28);
    expect(sendBatches([message, message], 100)).toEqual([[message], [message]]);
    expect(sendBatches([{ Body: message.Body }, { Body: message.Body }], 100)).toHaveLength(1);
  });

  it('sends a message too big to share a request alone, between the others', () => {
    const [small, big] = [{ Body: 'a'.repeat(10) }, { Body: 'b'.repeat(150) }];
    expect(sendBatches([small, small, big, small], 100)).toEqual([[small, small], [big], [small]]);
  });

  it('splits any batch into requests within both limits, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ Body: fc.string({ unit: 'grapheme', maxLength: 60 }) }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        (received, limit) => {
          const batches = sendBatches(received, limit);
          expect(batches.flat()).toEqual(received);
          for (const batch of batches) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(10);
            if (batch.length > 1) expect(total(batch)).toBeLessThanOrEqual(limit);
          }
        },
      ),
    );
  });
});
