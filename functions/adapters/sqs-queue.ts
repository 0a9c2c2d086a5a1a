import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Queue, QueueMessage } from '#core/message';
import { clientOptions } from './client-options.ts';

/** The ingest → consumer hand-off. `send` resolves only once SQS has stored the message. */
export class SqsQueue implements Queue {
  private readonly client: SQSClient;

  /** `client` defaults to one configured from the environment (`AWS_ENDPOINT_URL_SQS` included). */
  constructor(
    private readonly queueUrl: string,
    client?: SQSClient,
  ) {
    this.client = client ?? new SQSClient(clientOptions);
  }

  async send(message: QueueMessage): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        // Lets operators filter the DLQ without reading bodies.
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: message.provider },
          eventType: { DataType: 'String', StringValue: message.eventType.slice(0, 256) || '(none)' },
        },
      }),
    );
  }
}
