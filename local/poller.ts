import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { consumerBatchingWindowSeconds, consumerBatchSize } from '#infra/definitions';

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn?: string;
  handler: SqsHandler;
  batchSize?: number;
  /** Gather records for up to this long before invoking, as the event source mapping does. */
  batchingWindowSeconds?: number;
  /** Long-poll wait per receive call. */
  waitTimeSeconds?: number;
  /**
   * Called when an invocation throws or answers with an invalid partial batch response (an
   * `InvalidBatchResponseError`): the whole batch then returns to the queue.
   */
  onInvokeError?: (error: unknown) => void;
}

export interface BatchResult {
  received: number;
  failed: number;
}

/** A partial batch response Lambda would not accept: the whole batch then counts as failed. */
export class InvalidBatchResponseError extends Error {
  override name = 'InvalidBatchResponseError';
}

/**
 * The message ids a handler's response reports as failed, under the rules Lambda applies to partial
 * batch responses (Lambda developer guide, "Implementing partial batch responses"): a null or empty
 * response, a null `batchItemFailures` and an empty list all mean success; an item whose
 * `itemIdentifier` is missing, null, empty or not a message of this batch makes the response
 * invalid, and so does a response that is not an object or a `batchItemFailures` that is not a
 * list. Lambda fails the whole batch then: returned as an `InvalidBatchResponseError`.
 */
export function batchItemFailures(
  response: unknown,
  messageIds: readonly string[],
): Set<string> | InvalidBatchResponseError {
  const invalid = (why: string) => new InvalidBatchResponseError(`invalid partial batch response: ${why}`);
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return invalid('not an object');
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return invalid('batchItemFailures is not a list');
  const inBatch = new Set(messageIds);
  const failed = new Set<string>();
  for (const [i, failure] of failures.entries()) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') {
      return invalid(`batchItemFailures[${i}].itemIdentifier is missing, null, empty or not a string`);
    }
    if (!inBatch.has(id))
      return invalid(`batchItemFailures[${i}].itemIdentifier is not a message of this batch`);
    failed.add(id);
  }
  return failed;
}

/**
 * Drives a consumer handler the way Lambda's SQS event source mapping does: receive up to
 * `batchSize` records within the batching window, invoke, delete the records that did not fail
 * (`ReportBatchItemFailures` semantics), leave the failed ones in flight until their visibility
 * timeout so SQS redelivers them, and move them to the DLQ after the redrive count (SQS does that
 * part itself). A thrown invocation or an invalid partial batch response (`batchItemFailures`)
 * fails the whole batch, as in Lambda.
 */
export class SqsPoller {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly batchSize: number;
  private readonly windowMs: number;
  private readonly waitTimeSeconds: number;

  constructor(private readonly options: PollerOptions) {
    this.batchSize = options.batchSize ?? consumerBatchSize;
    this.windowMs = (options.batchingWindowSeconds ?? consumerBatchingWindowSeconds) * 1000;
    this.waitTimeSeconds = options.waitTimeSeconds ?? 1;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.pollOnce();
        } catch (error) {
          this.options.onInvokeError?.(error);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
  }

  /** Stops receiving and waits for the batch in flight to finish (drain). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** One receive → invoke → delete cycle. */
  async pollOnce(): Promise<BatchResult> {
    const messages = await this.receiveBatch();
    if (messages.length === 0) return { received: 0, failed: 0 };
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    let failedIds: Set<string> | InvalidBatchResponseError;
    try {
      const response: unknown = await this.options.handler(event);
      failedIds = batchItemFailures(
        response,
        messages.map((m) => m.MessageId as string),
      );
    } catch (error) {
      this.options.onInvokeError?.(error);
      return { received: messages.length, failed: messages.length };
    }
    if (failedIds instanceof InvalidBatchResponseError) {
      // As Lambda does: nothing is deleted, every record comes back after its visibility timeout.
      this.options.onInvokeError?.(failedIds);
      return { received: messages.length, failed: messages.length };
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId as string));
    if (done.length > 0) {
      await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
    return { received: messages.length, failed: messages.length - done.length };
  }

  private async receiveBatch(): Promise<Message[]> {
    const batch: Message[] = [];
    // The window opens when the first record arrives, not when the long poll starts.
    let deadline = Number.POSITIVE_INFINITY;
    let first = true;
    while (batch.length < this.batchSize && (first || Date.now() < deadline) && (this.running || first)) {
      const out = await this.options.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: Math.min(10, this.batchSize - batch.length),
          WaitTimeSeconds: first ? this.waitTimeSeconds : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const received = out.Messages ?? [];
      batch.push(...received);
      if (first && received.length === 0) break;
      if (first) deadline = Date.now() + this.windowMs;
      first = false;
      if (received.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    return batch;
  }

  /** A received message as the event source mapping hands it to the function. */
  private toRecord(message: Message): SQSRecord {
    const attributes = message.Attributes ?? {};
    const numberOf = (value: string | undefined) => (value === undefined ? undefined : Number(value));
    return sqsRecord({
      messageId: message.MessageId as string,
      receiptHandle: message.ReceiptHandle as string,
      body: message.Body ?? '',
      receiveCount: numberOf(attributes.ApproximateReceiveCount),
      sentAt: numberOf(attributes.SentTimestamp),
      firstReceivedAt: numberOf(attributes.ApproximateFirstReceiveTimestamp),
      senderId: attributes.SenderId,
      messageAttributes: message.MessageAttributes,
      md5OfBody: message.MD5OfBody,
      queueArn: this.options.queueArn,
    });
  }
}

/** What an SQS record is made of; every field but the message id and the body has a default. */
export interface SqsRecordFields {
  messageId: string;
  body: string;
  /** The handle a delete takes; the message id when not given. */
  receiptHandle?: string | undefined;
  /** `ApproximateReceiveCount`: deliveries so far, this one included; 1 when not given. */
  receiveCount?: number | undefined;
  /** `SentTimestamp`: when SQS accepted the message, epoch milliseconds; now when not given. */
  sentAt?: number | undefined;
  /** `ApproximateFirstReceiveTimestamp`, epoch milliseconds; now when not given. */
  firstReceivedAt?: number | undefined;
  /** `SenderId`; `local` when not given. */
  senderId?: string | undefined;
  /**
   * Message attributes by name, as `SendMessage` takes and `ReceiveMessage` returns them
   * (`{ DataType, StringValue }`); a missing `DataType` counts as `String`. None when not given.
   */
  messageAttributes?:
    | Record<string, { DataType?: string | undefined; StringValue?: string | undefined }>
    | undefined;
  /** The body's MD5 as SQS reports it; empty when not given (the consumer does not read it). */
  md5OfBody?: string | undefined;
  /** The queue's ARN (the record's `eventSourceARN`, its Region the record's `awsRegion`). */
  queueArn?: string | undefined;
}

/**
 * An SQS record in the shape Lambda's SQS event source mapping delivers (`aws-lambda`'s
 * `SQSRecord`): the one builder for the local poller, the benchmarks and the tests.
 */
export function sqsRecord(fields: SqsRecordFields): SQSRecord {
  const now = Date.now();
  const queueArn = fields.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:local';
  return {
    messageId: fields.messageId,
    receiptHandle: fields.receiptHandle ?? fields.messageId,
    body: fields.body,
    attributes: {
      ApproximateReceiveCount: String(fields.receiveCount ?? 1),
      SentTimestamp: String(fields.sentAt ?? now),
      SenderId: fields.senderId ?? 'local',
      ApproximateFirstReceiveTimestamp: String(fields.firstReceivedAt ?? now),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(fields.messageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          stringValue: value.StringValue,
          binaryValue: undefined,
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: fields.md5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    // arn:aws:sqs:<region>:<account>:<name>
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}
