/**
 * The one description of the pipeline's stateful resources. The CDK stack, the local runner and the
 * integration tests all build their tables and queues from these values, so the key schema, the
 * indexes, the TTL attribute and the redrive rule can never drift between AWS and this machine.
 *
 * Pure data: no AWS SDK and no CDK imports, so both worlds can read it.
 */

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /**
   * Attributes copied into the index besides the keys; none means KEYS_ONLY. Never the raw bodies:
   * every index write is paid per KB, and a body copied into an index would double each event's cost.
   */
  readonly nonKeyAttributes: readonly string[];
}

export interface TableDefinition {
  /** Logical id in the stack and name suffix locally. */
  readonly id: string;
  readonly partitionKey: KeyAttribute;
  readonly timeToLiveAttribute?: string;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
  /**
   * The table's DynamoDB stream, when it has one: every write's item before and after
   * (`NEW_AND_OLD_IMAGES`, the only view that lets a reader say what changed). Records are kept
   * 24 hours and, per item, come in the order of its writes; see the DynamoDB Streams developer
   * guide (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
   */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

/**
 * An index as the DynamoDB API and CloudFormation both spell it: the local stack creates it from
 * this, the CDK stack derives its projection from it, and the template tests expect it.
 */
export function globalSecondaryIndexSpec(index: IndexDefinition) {
  return {
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
    ],
    Projection:
      index.nonKeyAttributes.length === 0
        ? { ProjectionType: 'KEYS_ONLY' as const }
        : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.nonKeyAttributes] },
  };
}

/**
 * Event log: one item per (provider, event key). Its conditional put is the dedupe marker.
 * `byProvider` lists a provider's events by receive time (CLI `events`, `replay`); the raw body is
 * read from the table itself.
 */
export const eventsTable = {
  id: 'Events',
  partitionKey: { name: 'pk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    {
      indexName: 'byProvider',
      partitionKey: { name: 'provider', type: 'S' },
      sortKey: { name: 'receivedAt', type: 'S' },
      nonKeyAttributes: [
        'eventKey',
        'eventType',
        'outcome',
        'accountId',
        'entityIds',
        'occurredAt',
        'processedAt',
        'replayedAt',
        'issues',
      ],
    },
  ],
} as const satisfies TableDefinition;

/**
 * Jobs: one item per (provider, job id). `byAccount` lists a business's jobs, newest first when
 * read backwards. Its keys never change after a job's first event and it carries no other
 * attribute, so the index is written once per job, not once per event (readers fetch the items).
 * Its stream carries each committed job write out: the publisher reads it (the publish function's
 * event source mapping deployed, `local/job-stream.ts` locally) and turns each change into a job event
 * (`functions/core/job-changes.ts`), so publishing never slows or fails the consumer.
 */
export const jobsTable = {
  id: 'Jobs',
  partitionKey: { name: 'pk', type: 'S' },
  stream: 'NEW_AND_OLD_IMAGES',
  globalSecondaryIndexes: [
    {
      indexName: 'byAccount',
      partitionKey: { name: 'accountKey', type: 'S' },
      sortKey: { name: 'createdAt', type: 'S' },
      nonKeyAttributes: [],
    },
  ],
} as const satisfies TableDefinition;

export const tables = [eventsTable, jobsTable] as const;

/** Receives before a message is moved to the DLQ (docs/rules.md, Consumer). */
export const maxReceiveCount = 5;

/** The consumer's Lambda timeout; the queue's visibility timeout is derived from it. */
export const consumerTimeoutSeconds = 30;

/**
 * AWS asks for a visibility timeout of at least six times the function timeout for an SQS event
 * source, so a batch that is retried by the poller is not redelivered while still running.
 */
export const queueVisibilityTimeoutSeconds = consumerTimeoutSeconds * 6;

/** 14 days: the longest SQS keeps a message, so a long outage downstream loses nothing. */
export const queueRetentionSeconds = 14 * 24 * 60 * 60;

/**
 * SQS accepts up to 1 MiB per message. The raw body travels base64-encoded (4/3 of its size) next
 * to a small envelope, so a 256 KiB body fits with room for headers and quarantine issues.
 */
export const queueMaximumMessageBytes = 1024 * 1024;

export const queueNames = { queue: 'webhook-events', deadLetterQueue: 'webhook-events-dlq' } as const;

/** The consumer's batch: up to 10 records, gathered for at most 1 second. */
export const consumerBatchSize = 10;
export const consumerBatchingWindowSeconds = 1;

/**
 * The largest body a deployment may accept. A DynamoDB item holds at most 400 KB: the job item
 * carries the latest payload next to its canonical fields (each capped, see `functions/core/job.ts`)
 * and the event log item carries the raw body next to its headers and issues; 300 KiB leaves both
 * with room to spare, so an accepted event can always be stored.
 */
export const maxBodyBytesCeiling = 300 * 1024;

/** Defaults that the stack and the local runner share. */
export const defaults = {
  maxBodyBytes: 256 * 1024,
  dedupeHorizonDays: 30,
  /** How far after its receipt an event's own time may lie before the event is quarantined. */
  eventTimeSkewSeconds: 300,
  /**
   * Seconds the ingest function keeps the credentials read from Secrets Manager before reading
   * them again (`SECRET_REFRESH_SECONDS`, context key `secretRefreshSeconds`).
   */
  secretRefreshSeconds: 300,
} as const;
