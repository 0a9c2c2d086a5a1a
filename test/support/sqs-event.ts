import type { SQSEvent, SQSRecord } from 'aws-lambda';

/** An SQS event as Lambda's event source mapping delivers it; record `i` has message id `msg-<i>`. */
export function sqsEvent(bodies: readonly string[]): SQSEvent {
  return { Records: bodies.map((body, i) => sqsRecord(`msg-${i}`, body)) };
}

function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1781913600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1781913600000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:ap-southeast-2:000000000000:events',
    awsRegion: 'ap-southeast-2',
  };
}
