import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { EventBridgeBus } from '#adapters/event-bus';
import type { JobStreamRecord } from '#adapters/job-stream-records';
import { LoggableError } from '#core/errors';
import type { Logger } from '#core/ports';
import { type EventBus, publishJobChanges } from './publish.ts';

export interface PublishDeps {
  logger: Logger;
  bus: EventBus;
  /** The job events bus (`JOB_EVENTS_BUS_NAME`). */
  busName: string;
}

/**
 * The publish function: the Lambda event source mapping on the jobs table's stream invokes it with
 * a batch of stream records, one batch at a time per shard, and it publishes one event per change
 * to a job to the job events bus with `PutEvents` (`publishJobChanges`), in stream order.
 *
 * It answers with a partial batch response (the mapping has `ReportBatchItemFailures`): nothing
 * when the whole batch is done, else the first record not done (a `PutEvents` call that failed, or
 * an entry EventBridge refused: transient), by its sequence number. The mapping then reads the
 * shard again from that record, so the records before it are not published twice and those after
 * it never overtake it; after its retries, the mapping sends the batch's stream metadata to the job
 * events DLQ.
 *
 * A record that can never be published (one it cannot read, or whose event alone is larger than a
 * `PutEvents` call takes) is a deterministic failure: retrying it would hold back every later
 * record of the batch, other jobs' changes included, and send them to the DLQ with it. It is
 * logged (`job change not published`, at error level) and skipped; the rest is published.
 *
 * Log lines, counts and ids only (job fields are personal data): `job change not published` for
 * each record skipped, with its position, sequence number, change id when it has one, and why; then
 * one per batch, `job changes`, or `job changes failed` with the record's position and sequence
 * number, the change id of the event not published, and the error.
 */
export function createHandler(deps: PublishDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records = (event as Partial<DynamoDBStreamEvent> | null)?.Records;
    if (!Array.isArray(records)) {
      const error = new LoggableError('the event is not a batch of DynamoDB stream records');
      deps.logger.error('job changes failed', { error: error.message });
      throw error;
    }
    // Lambda's JSON is the stream's own record (attribute values included) that `JobStreamRecord` describes.
    const result = await publishJobChanges(
      records as unknown as readonly JobStreamRecord[],
      deps.bus,
      deps.busName,
    );
    const { failure, skipped = [] } = result;
    for (const skip of skipped) {
      deps.logger.error('job change not published', {
        reason: skip.reason,
        record: skip.index + 1,
        sequenceNumber: skip.sequenceNumber,
        ...(skip.changeId === undefined ? {} : { changeId: skip.changeId }),
        error: skip.error,
      });
    }
    const counts = {
      records: records.length,
      changes: result.changes,
      published: result.published,
      ...(skipped.length > 0 ? { skipped: skipped.length } : {}),
    };
    if (!failure) {
      deps.logger.info('job changes', counts);
      return { batchItemFailures: [] };
    }
    deps.logger.error('job changes failed', {
      ...counts,
      reason: failure.reason,
      failedRecord: failure.index + 1,
      sequenceNumber: failure.sequenceNumber,
      ...(failure.changeId === undefined ? {} : { changeId: failure.changeId }),
      error: failure.error,
    });
    // Lambda always sends it; without one, only failing the whole batch keeps the record.
    if (failure.sequenceNumber === undefined) {
      throw new LoggableError(
        `stream record ${failure.index + 1} of ${records.length} has no sequence number to report: the batch fails whole`,
      );
    }
    return { batchItemFailures: [{ itemIdentifier: failure.sequenceNumber }] };
  };
}

/** Built once per cold start; fails there when `JOB_EVENTS_BUS_NAME` is not set. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): PublishDeps {
  const busName = env.JOB_EVENTS_BUS_NAME?.trim();
  if (!busName) throw new LoggableError('JOB_EVENTS_BUS_NAME is not set: the job events bus to publish to');
  // Powertools' logger alone, not `#adapters/telemetry`: that module loads Powertools metrics too,
  // which this function has no use for, at a cost to every cold start.
  const logger = new PowertoolsLogger({ serviceName: 'publish' });
  return {
    logger: {
      info: (message, data) => logger.info(message, data ?? {}),
      warn: (message, data) => logger.warn(message, data ?? {}),
      error: (message, data) => logger.error(message, data ?? {}),
    },
    bus: new EventBridgeBus(),
    busName,
  };
}
