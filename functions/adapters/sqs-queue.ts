import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Queue, QueueMessage } from '#core/message';
import { ingestClientOptions } from './client-options.ts';

/** The ingest → consumer hand-off. `send` resolves only once SQS has stored the message. */
export class SqsQueue implements Queue {
  private readonly client: SQSClient;

  /** `client` defaults to one configured from the environment (`AWS_ENDPOINT_URL_SQS` included). */
  constructor(
    private readonly queueUrl: string,
    client?: SQSClient,
  ) {
    this.client = client ?? new SQSClient(ingestClientOptions);
  }

  async send(message: QueueMessage): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: queueBody(message),
        // Lets operators filter the DLQ without reading bodies.
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: message.provider },
          eventType: { DataType: 'String', StringValue: attributeText(message.eventType) },
        },
      }),
    );
  }
}

/**
 * JSON that any SQS accepts: printable ASCII only, every other character written as a `\uXXXX`
 * escape, which parses back to the same string. SQS refuses U+FFFE and U+FFFF (and some emulators
 * every character above U+FFFF), which `JSON.stringify` leaves as they are; the raw body travels as
 * base64, but event keys and header values are the provider's text. Without this an authentic
 * event carrying one would get 503 forever.
 */
export function queueBody(message: QueueMessage): string {
  return JSON.stringify(message).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Printable ASCII only, at most 256 characters: an attribute is a label, never data. Every other
 * UTF-16 unit is written as `\uXXXX`, as in the body, so the consumer's log still tells `job.é`
 * from `job.ü` (a `?` for each said neither); an escape is never cut in half.
 */
export function attributeText(value: string): string {
  const escaped = value.replace(
    /[^\x20-\x7E]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.slice(0, 256).replace(/\\u[0-9a-f]{0,3}$/, '') || '(none)';
}
