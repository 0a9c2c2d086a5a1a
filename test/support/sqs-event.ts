import type { SQSEvent } from 'aws-lambda';
import { sqsRecord } from '../../local/poller.ts';

/** An SQS event as Lambda's event source mapping delivers it; record `i` has message id `msg-<i>`. */
export function sqsEvent(bodies: readonly string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) =>
      sqsRecord({
        messageId: `msg-${i}`,
        receiptHandle: `receipt-msg-${i}`,
        body,
        sentAt: 1_781_913_600_000,
        firstReceivedAt: 1_781_913_600_000,
        senderId: 'AIDAEXAMPLE',
        queueArn: 'arn:aws:sqs:ap-southeast-2:000000000000:events',
      }),
    ),
  };
}
