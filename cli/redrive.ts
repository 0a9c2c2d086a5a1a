import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { flag, integer, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { type Column, json, quote, say, table, timeColumn } from './format.ts';
import { resolveTarget } from './target.ts';

/** Long enough to copy a batch to the queue before SQS would hand the same messages out again. */
const holdSeconds = 60;

/** SQS's cap on one SendMessageBatch request: the sizes of its messages added up (1 MiB). */
export const batchPayloadLimit = 1024 * 1024;

/** What SQS counts as a message's size: the body, and each attribute's name, type and value. */
export function messageSize(message: Pick<Message, 'Body' | 'MessageAttributes'>): number {
  let size = Buffer.byteLength(message.Body ?? '');
  for (const [name, attribute] of Object.entries(message.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType ?? '');
    if (attribute.StringValue !== undefined) size += Buffer.byteLength(attribute.StringValue);
    // As sent, base64: never less than SQS counts.
    if (attribute.BinaryValue !== undefined) size += Math.ceil(attribute.BinaryValue.byteLength / 3) * 4;
  }
  return size;
}

/**
 * Splits received messages, in order, into SendMessageBatch requests of at most 10 entries and at
 * most `limit` bytes: ten messages may each be up to 1 MiB, and one request over the limit fails
 * whole (`BatchRequestTooLong`). A message too big to share a request goes alone.
 */
export function sendBatches<T extends Pick<Message, 'Body' | 'MessageAttributes'>>(
  messages: readonly T[],
  limit = batchPayloadLimit,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageSize(message);
    if (current.length > 0 && (current.length === 10 || bytes + size > limit)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Visible and in-flight messages of a queue (SQS's approximate counts). */
export async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  // Counting the invisible ones too: a dry run a moment ago may still hold some.
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Receives up to `max` messages, holding each batch invisible while `onBatch` handles it. */
async function drain(
  sqs: SQSClient,
  url: string,
  max: number,
  onBatch: (messages: Message[]) => Promise<void>,
): Promise<void> {
  let taken = 0;
  let empty = 0;
  // SQS samples servers: one empty receive does not prove the queue is empty.
  while (taken < max && empty < 2) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, max - taken),
        VisibilityTimeout: holdSeconds,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) {
      empty += 1;
      continue;
    }
    empty = 0;
    taken += messages.length;
    await onBatch(messages);
  }
}

/**
 * SQS has no peek: a dry run lists the DLQ by receiving its messages, and every receive counts.
 * It cannot be avoided, only said: the count is SQS's own and nothing here acts on it (a moved
 * message is sent anew, its count starting again on the queue), but a person reading RECEIVES, or
 * ApproximateReceiveCount elsewhere, should know the dry runs are in it.
 */
export const peekNote =
  'note: SQS has no peek: listing received each message, which added 1 to its receive count ' +
  '(RECEIVES counts this dry run and any earlier one); the messages are back in the DLQ within a second';

interface Row {
  messageId: string;
  provider: string | undefined;
  eventType: string | undefined;
  eventKey: string | undefined;
  /** SQS's ApproximateReceiveCount, as a number. */
  receives: number | undefined;
  sentAt: string | undefined;
}

function describe(message: Message): Row {
  let eventKey: string | undefined;
  try {
    const body = JSON.parse(message.Body ?? '') as { eventKey?: unknown };
    if (typeof body.eventKey === 'string') eventKey = body.eventKey;
  } catch {}
  const sent = Number(message.Attributes?.SentTimestamp);
  const count = message.Attributes?.ApproximateReceiveCount;
  return {
    messageId: message.MessageId ?? '',
    provider: message.MessageAttributes?.provider?.StringValue,
    eventType: message.MessageAttributes?.eventType?.StringValue,
    eventKey: eventKey ?? (message.Body ? undefined : '(empty)'),
    // SQS sends it as text: a number in --json, as in the table.
    receives: count !== undefined && /^\d+$/.test(count) ? Number(count) : undefined,
    sentAt: Number.isFinite(sent) ? new Date(sent).toISOString() : undefined,
  };
}

export async function redrive(context: CommandContext): Promise<number> {
  const { values, positionals, io } = context;
  if (positionals.length > 0)
    throw new UsageError(`redrive takes no arguments (got ${quote(positionals[0])})`);
  const max = integer(values, 'max', Number.MAX_SAFE_INTEGER, { min: 1 });
  const dryRun = flag(values, 'dry-run');
  const asJson = flag(values, 'json');
  const target = resolveTarget(values, io.env);
  try {
    const [queueUrl, dlqUrl] = [await target.queueUrl(), await target.deadLetterQueueUrl()];
    const before = await queueDepth(target.sqs, dlqUrl);
    const rows: Row[] = [];

    if (dryRun) {
      const held: Message[] = [];
      await drain(target.sqs, dlqUrl, Math.min(max, 1000), async (messages) => {
        held.push(...messages);
        rows.push(...messages.map(describe));
      });
      // Hand every peeked message back. One second rather than 0: fauxqs with persistence (the
      // local stack) loses a message whose visibility is set to 0.
      for (let i = 0; i < held.length; i += 10) {
        await target.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: dlqUrl,
            Entries: held.slice(i, i + 10).map((m, j) => ({
              Id: String(j),
              ReceiptHandle: m.ReceiptHandle as string,
              VisibilityTimeout: 1,
            })),
          }),
        );
      }
      // Approximate counts can lag what a receive just saw.
      const count = Math.max(before, rows.length);
      if (asJson) io.out(json({ dryRun: true, deadLetterQueueUrl: dlqUrl, messages: count, listed: rows }));
      else {
        if (rows.length > 0) io.out(table(rows, columns));
        io.out(
          say`dry run: ${count} message(s) in ${dlqUrl}; ${Math.min(count, max)} would move to ${queueUrl}\n`,
        );
        if (rows.length > 0) io.out(`${peekNote}\n`);
      }
      return 0;
    }

    let moved = 0;
    let failed = 0;
    await drain(target.sqs, dlqUrl, max, async (received) => {
      for (const messages of sendBatches(received)) {
        const sent = await target.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({
              Id: String(i),
              MessageBody: m.Body ?? '',
              ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0
                ? { MessageAttributes: m.MessageAttributes }
                : {}),
            })),
          }),
        );
        // Deleted from the DLQ only once the queue holds the copy; a failed send stays in the DLQ.
        const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
        failed += messages.length - ok.size;
        const done = messages.filter((_, i) => ok.has(String(i)));
        if (done.length > 0) {
          await target.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: dlqUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
            }),
          );
        }
        moved += done.length;
        rows.push(...done.map(describe));
      }
    });
    if (asJson) io.out(json({ moved, failed, deadLetterQueueUrl: dlqUrl, queueUrl, messages: rows }));
    else {
      if (rows.length > 0) io.out(table(rows, columns));
      io.out(
        say`moved ${moved} of ${Math.max(before, moved)} message(s) from the DLQ back to ${queueUrl}` +
          `${failed ? `; ${failed} could not be sent and stay in the DLQ` : ''}\n`,
      );
    }
    return failed > 0 ? 1 : 0;
  } finally {
    target.close();
  }
}

const columns: Column<Row>[] = [
  { title: 'MESSAGE', value: (r) => r.messageId, max: 36 },
  { title: 'PROVIDER', value: (r) => r.provider },
  { title: 'TYPE', value: (r) => r.eventType, max: 28 },
  { title: 'EVENT KEY', value: (r) => r.eventKey, max: 36 },
  { title: 'RECEIVES', value: (r) => r.receives, align: 'right' },
  timeColumn('SENT', (r) => r.sentAt),
];
