import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { errorDescription, LoggableError } from '#core/errors';
import { type JobChange, jobChange } from '#core/job-changes';
import type { Item } from '#core/records';

/**
 * A record of the jobs table's DynamoDB stream, as Lambda delivers it (JSON)
 * and as `GetRecords` returns it (`local/job-stream.ts`): the images in DynamoDB's attribute-value
 * form (`{"S": "…"}`, `{"N": "…"}`). The stream's view type is `NEW_AND_OLD_IMAGES`, so an `INSERT`
 * has `NewImage`, a `MODIFY` both, a `REMOVE` `OldImage`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html).
 */
export interface JobStreamRecord {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  dynamodb: {
    Keys: Record<string, AttributeValue>;
    NewImage?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
    /** Orders the records of one shard (decimal digits; compare as numbers, not as text). */
    SequenceNumber?: string;
  };
}

/**
 * The job events a batch of stream records publishes ({@link jobChange} on each record's images),
 * one per record that publishes, in the records' order: a stream keeps each item's writes in
 * order, so each job's changes stay in order.
 *
 * Throws a {@link LoggableError} naming the record (its position and sequence number, never its
 * values) when a record cannot be read: not a stream record, an image missing for its event (a
 * stream of another view type), an attribute value that is not DynamoDB's, or a job item that
 * {@link jobChange} refuses. Such a record will never be readable: the publish function and the
 * local publisher read each record with {@link jobChangeAt}, log the one they cannot read, and
 * skip it, so that it does not hold back the records after it.
 */
export function jobChangesOf(records: readonly JobStreamRecord[]): JobChange[] {
  const changes: JobChange[] = [];
  records.forEach((_, index) => {
    const change = jobChangeAt(records, index);
    if (change) changes.push(change);
  });
  return changes;
}

/**
 * {@link jobChangesOf} for one record, the one at `index` in `records`: its job event, or
 * `undefined` when it publishes none. Throws as `jobChangesOf` does, with the same message, when
 * the record cannot be read. For a publisher that must know which record each event came from
 * (the publish function reports the first record it could not publish, by its sequence number).
 */
export function jobChangeAt(records: readonly JobStreamRecord[], index: number): JobChange | undefined {
  const record = records[index] as JobStreamRecord;
  const where = `stream record ${index + 1} of ${records.length}${sequenceOf(record)}`;
  try {
    return changeOf(record);
  } catch (error) {
    // An unmarshalling error may echo an attribute value: its description leaves quoted text out.
    const reason = error instanceof LoggableError ? error.message : `its images: ${errorDescription(error)}`;
    throw new LoggableError(`${where}: ${reason}`, { cause: error });
  }
}

function changeOf(record: JobStreamRecord): JobChange | undefined {
  const images = (record as Partial<JobStreamRecord> | null)?.dynamodb;
  if (typeof images !== 'object' || images === null) throw new LoggableError('it has no `dynamodb`');
  switch (record.eventName) {
    case 'REMOVE':
      return undefined;
    case 'INSERT':
      return jobChange(undefined, image(images.NewImage, 'NewImage'));
    case 'MODIFY':
      return jobChange(image(images.OldImage, 'OldImage'), image(images.NewImage, 'NewImage'));
    default:
      throw new LoggableError('its `eventName` is not INSERT, MODIFY or REMOVE');
  }
}

function image(value: Record<string, AttributeValue> | undefined, name: string): Item {
  if (typeof value !== 'object' || value === null)
    throw new LoggableError(`it has no \`${name}\` (the stream's view type must be NEW_AND_OLD_IMAGES)`);
  return unmarshall(value);
}

function sequenceOf(record: JobStreamRecord): string {
  const sequence = (record as Partial<JobStreamRecord> | null)?.dynamodb?.SequenceNumber;
  return typeof sequence === 'string' && /^\d{1,64}$/.test(sequence) ? ` (sequence number ${sequence})` : '';
}
