import {
  type CancellationReason,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type marshallOptions as MarshallOptions, marshall } from '@aws-sdk/util-dynamodb';
import { type EventRecord, type EventStore, type JobWrite, PermanentStoreError } from '#core/consume';
import { errorDescription } from '#core/errors';
import { clientOptions } from './client-options.ts';

// Named clauses: each carries the decision it encodes.
/** The dedupe marker: the event log item is written once per (provider, event key). */
const notSeenBefore = 'attribute_not_exists(pk)';
/**
 * Ordering: a job only moves forward, by (order, event key), the order being `JobWrite.order`
 * (the event time, or a Zenbooker event's lifecycle position). The key breaks ties the same way on
 * every consumer. The event that already is the job's state never applies again, even when its
 * order changed (a Zenbooker redelivery after the dedupe horizon is received later). A job written
 * by the first version, before `lastOrder` existed, is compared by event time alone, as it was then.
 */
const movesForward = `attribute_not_exists(pk) OR (lastEventKey <> :eventKey AND (${[
  'lastOrder < :order',
  '(lastOrder = :order AND lastEventKey < :eventKey)',
  '(attribute_not_exists(lastOrder) AND (lastEventAt < :eventAt OR (lastEventAt = :eventAt AND lastEventKey < :eventKey)))',
].join(' OR ')}))`;
/**
 * An unprocessable event's record may be rewritten by a redelivery of the same body; another body
 * under its key is a conflict like any other.
 */
const notSeenOrUnprocessable =
  'attribute_not_exists(pk) OR (outcome = :unprocessable AND (attribute_not_exists(fingerprint) OR fingerprint = :fingerprint))';
/** A replay never turns the log record of an event that was applied into a stale one. */
const notAppliedBefore = 'attribute_not_exists(pk) OR outcome <> :applied';
/** The stale path only fills gaps in a job that exists. */
const jobExists = 'attribute_exists(pk)';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type PutInput = NonNullable<TransactItem['Put']>;
/** An event log write: a Put, or for a replay an Update (see `eventWrite`). */
type EventWrite = { Put: PutInput; Update?: never } | { Update: UpdateInput; Put?: never };
type UpdateInput = NonNullable<TransactItem['Update']>;

export const eventPk = (provider: string, eventKey: string) => `${provider}#${eventKey}`;
/** A second body under a known key: kept beside the first, once per distinct fingerprint. */
export const conflictPk = (provider: string, eventKey: string, fingerprint: string) =>
  `${eventPk(provider, eventKey)}#conflict#${fingerprint}`;
export const jobPk = (provider: string, jobId: string) => `${provider}#${jobId}`;
export const accountKey = (provider: string, accountId: string) => `${provider}#${accountId}`;

export interface DynamoStoreOptions {
  eventsTableName: string;
  jobsTableName: string;
  /** Defaults to a client configured from the environment (`AWS_ENDPOINT_URL_DYNAMODB` included). */
  client?: DynamoDBClient;
}

/**
 * The event log and jobs tables in DynamoDB. Every event is one atomic write:
 *
 *   consumer A                          DynamoDB                          consumer B (same event)
 *   ──────────                          ────────                          ───────────────────────
 *   TransactWrite[ put event if notSeenBefore,
 *                  update job if movesForward ]     ──► commits both
 *                                                       ◄── TransactWrite[ same ] ─ cancelled:
 *                                                           TransactionConflict → retried in place,
 *                                                           then ConditionalCheckFailed on the event
 *                                                           → "duplicate", nothing written twice
 *
 *   crash/timeout before commit → nothing written → SQS redelivers → the same transaction applies once
 *   crash/timeout after commit  → both written    → SQS redelivers → notSeenBefore fails → duplicate
 *
 * When only the job's ordering clause fails the event is older than the job's state: a second
 * transaction records it as `stale` and fills only the job fields that are still missing.
 */
export class DynamoEventStore implements EventStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly events: string;
  private readonly jobs: string;

  constructor(options: DynamoStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient(clientOptions), {
      marshallOptions,
    });
    this.events = options.eventsTableName;
    this.jobs = options.jobsTableName;
  }

  async record(event: EventRecord, outcome: 'recorded' | 'quarantined' | 'unprocessable') {
    // An unprocessable record is rewritten by its redeliveries: as an Update, which keeps its list
    // of `conflicts`, and only for the same body.
    const unprocessable = outcome === 'unprocessable' && !event.replay;
    const write = this.eventWrite(event, outcome, unprocessable ? 'update' : undefined);
    if (unprocessable && write.Update) {
      write.Update.ConditionExpression = notSeenOrUnprocessable;
      write.Update.ReturnValuesOnConditionCheckFailure = 'ALL_OLD';
      write.Update.ExpressionAttributeValues = {
        ...write.Update.ExpressionAttributeValues,
        ':unprocessable': 'unprocessable',
        ':fingerprint': event.fingerprint ?? '',
      };
    }
    try {
      await this.writeOne(write);
      return outcome;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return this.seenBefore(event, (error as { Item?: StoredItem }).Item);
    }
  }

  async apply(event: EventRecord, job: JobWrite) {
    try {
      await this.transact([this.eventWrite(event, 'applied'), { Update: this.jobUpdate(job) }]);
      return 'applied' as const;
    } catch (error) {
      const [eventReason, jobReason] = cancellationReasons(error);
      if (eventReason?.Code === 'ConditionalCheckFailed') return this.seenBefore(event, eventReason.Item);
      if (jobReason?.Code !== 'ConditionalCheckFailed') throw error;
      if (jobReason.Item?.lastEventKey?.S === job.eventKey) {
        // The job already holds this key, its log record gone (past the dedupe horizon) or being
        // replayed: the same body is already applied; another body under the key is a conflict.
        const applied = jobReason.Item.lastFingerprint?.S;
        if (applied !== undefined && event.fingerprint !== undefined && applied !== event.fingerprint)
          return this.seenBefore(event, { fingerprint: applied });
        return this.recordAlreadyApplied(event);
      }
    }
    return this.recordStale(event, job);
  }

  /**
   * The dedupe marker was there: the same fingerprint (or a record from before fingerprints) is a
   * redelivery; another one is a different body under a known key, kept as a conflict record.
   */
  private async seenBefore(event: EventRecord, stored: StoredItem | undefined) {
    const storedFingerprint = attributeText(stored?.fingerprint);
    if (storedFingerprint === undefined || event.fingerprint === undefined) return 'duplicate' as const;
    if (storedFingerprint === event.fingerprint) return 'duplicate' as const;
    const pk = conflictPk(event.provider, event.eventKey, event.fingerprint);
    const put: PutInput = {
      TableName: this.events,
      Item: { ...this.eventItem(event, 'conflict'), pk, conflictsWith: storedFingerprint },
      ConditionExpression: notSeenBefore,
    };
    // The kept record lists its conflicts' fingerprints, so `events show` finds them by key.
    const listed: UpdateInput = {
      TableName: this.events,
      Key: { pk: eventPk(event.provider, event.eventKey) },
      UpdateExpression: 'ADD conflicts :fingerprint',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':fingerprint': new Set([event.fingerprint]) },
    };
    try {
      await this.transact([{ Put: put }, { Update: listed }]);
      return 'conflict' as const;
    } catch (error) {
      const [conflictReason, keptReason] = cancellationReasons(error);
      if (conflictReason?.Code === 'ConditionalCheckFailed') return 'duplicate' as const;
      if (keptReason?.Code !== 'ConditionalCheckFailed') throw error;
    }
    // The kept record expired in the meantime: the conflict is kept on its own.
    try {
      await this.send(new PutCommand(put), [put.Item]);
      return 'conflict' as const;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'duplicate' as const;
      throw error;
    }
  }

  /** The job already reflects this very event: only its log record is (re)written. */
  private async recordAlreadyApplied(event: EventRecord) {
    try {
      await this.writeOne(this.eventWrite(event, 'applied'));
      return 'applied' as const;
    } catch (error) {
      if (isConditionalCheckFailed(error))
        return this.seenBefore(event, (error as { Item?: StoredItem }).Item);
      throw error;
    }
  }

  private async recordStale(event: EventRecord, job: JobWrite) {
    const fill = this.jobFill(job);
    const write = this.eventWrite(event, 'stale');
    if (write.Update) {
      write.Update.ConditionExpression = notAppliedBefore;
      write.Update.ExpressionAttributeValues = {
        ...write.Update.ExpressionAttributeValues,
        ':applied': 'applied',
      };
    }
    try {
      await this.transact([write, ...(fill ? [{ Update: fill }] : [])]);
      return 'stale' as const;
    } catch (error) {
      const [eventReason] = cancellationReasons(error);
      // Not a replay: another consumer recorded it first. A replay: it was applied once and has
      // since been overtaken; its record keeps saying so, and there is nothing to fill.
      if (eventReason?.Code === 'ConditionalCheckFailed')
        return event.replay ? ('stale' as const) : this.seenBefore(event, eventReason.Item);
      throw error;
    }
  }

  /**
   * Sends one command. A write DynamoDB will refuse on every attempt becomes a
   * {@link PermanentStoreError}: an item the document client's marshaller cannot convert (named by
   * marshalling again, with the same options, once a send failed before reaching DynamoDB), or a
   * request DynamoDB answers with a
   * `ValidationException` or `SerializationException` (a key over its byte limit, an item over
   * 400 KB, a number out of range). Everything else (throttling, timeouts, 5xx, the network) is
   * left as it is: transient, for SQS to redeliver.
   */
  private async send(
    command: PutCommand | UpdateCommand | TransactWriteCommand,
    items: ReadonlyArray<unknown>,
  ) {
    try {
      return await this.doc.send(command as PutCommand);
    } catch (error) {
      if (isRefusedForGood(error)) throw new PermanentStoreError(errorDescription(error), { cause: error });
      // Failed before the SDK sent anything (no `$metadata`): marshalling the items again, only
      // now, tells whether the document client refused one of them; on the hot path each item is
      // marshalled once, by the client.
      if (error instanceof Error && !('$metadata' in error)) {
        const refusal = marshallingRefusal(items);
        if (refusal) {
          throw new PermanentStoreError(`the item cannot be marshalled: ${errorDescription(refusal)}`, {
            cause: refusal,
          });
        }
      }
      throw error;
    }
  }

  /**
   * One transaction, retried a few times with jitter when DynamoDB cancels it for a conflict with
   * another transaction on the same item or for throttling: several events of one job arrive
   * together, and the SDK does not retry a cancelled transaction itself. All or nothing, so a retry
   * is safe; a failed condition is an answer, not a fault, and is never retried.
   */
  private async transact(items: TransactItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(new TransactWriteCommand({ TransactItems: items }), transactionValues(items));
        return;
      } catch (error) {
        const codes = cancellationReasons(error instanceof PermanentStoreError ? error.cause : error).map(
          (reason) => reason.Code,
        );
        const transient = codes.some((code) => code !== undefined && transientCancellations.has(code));
        if (!transient || codes.includes('ConditionalCheckFailed') || attempt >= maxTransactionAttempts)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  /** Sends one event log write on its own (outside a transaction). */
  private async writeOne(write: EventWrite): Promise<void> {
    if (write.Put) await this.send(new PutCommand(write.Put), [write.Put.Item]);
    else await this.send(new UpdateCommand(write.Update), [write.Update.ExpressionAttributeValues]);
  }

  /**
   * The event log write. Normally a Put guarded by the dedupe marker, returning the stored item
   * when the marker is there (to tell a duplicate from a conflict). A replay deliberately rewrites
   * its own record (the job's ordering clause still holds), as an Update that sets every attribute
   * the record owns and removes those it no longer has, so the kept record's list of `conflicts`
   * survives it; `form: 'update'` asks for that form without a replay (the caller adds its
   * condition).
   */
  private eventWrite(event: EventRecord, outcome: string, form?: 'update'): EventWrite {
    const item = this.eventItem(event, outcome);
    if (!event.replay && form !== 'update') {
      return {
        Put: {
          TableName: this.events,
          Item: item,
          ConditionExpression: notSeenBefore,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    }
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(item).forEach(([attribute, value], i) => {
      if (attribute === 'pk') return;
      names[`#e${i}`] = attribute;
      if (value === undefined) removes.push(`#e${i}`);
      else {
        values[`:e${i}`] = value;
        sets.push(`#e${i} = :e${i}`);
      }
    });
    return {
      Update: {
        TableName: this.events,
        Key: { pk: item.pk },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  /** Every attribute an event log record owns; `undefined` ones are left out of a Put. */
  private eventItem(event: EventRecord, outcome: string) {
    return {
      pk: eventPk(event.provider, event.eventKey),
      provider: event.provider,
      eventKey: event.eventKey,
      eventType: event.eventType,
      outcome,
      accountId: event.accountId,
      entityIds: event.entityIds,
      occurredAt: event.occurredAt,
      receivedAt: event.receivedAt,
      processedAt: event.processedAt,
      rawBody: event.rawBody,
      bodySha256: event.bodySha256,
      fingerprint: event.fingerprint,
      headers: event.headers,
      issues: event.issues,
      reason: event.reason,
      expiresAt: event.expiresAt,
      replayedAt: event.replay ? event.processedAt : undefined,
    };
  }

  private jobUpdate(job: JobWrite): UpdateInput {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':order': job.order,
      ':eventAt': job.eventAt,
      ':eventKey': job.eventKey,
      ':now': job.now,
      ':one': 1,
    };
    const sets: string[] = [];
    const set = (attribute: string, value: unknown) => {
      if (value === undefined) return;
      const i = sets.length;
      names[`#a${i}`] = attribute;
      values[`:v${i}`] = value;
      sets.push(`#a${i} = :v${i}`);
    };
    set('provider', job.provider);
    set('jobId', job.jobId);
    set('accountId', job.accountId);
    set('accountKey', job.accountId === undefined ? undefined : accountKey(job.provider, job.accountId));
    for (const [field, value] of Object.entries(job.fields)) set(field, value);
    set('payload', job.payload);
    set('lastEventKey', job.eventKey);
    set('lastEventType', job.eventType);
    set('lastEventAt', job.eventAt);
    set('lastOrder', job.order);
    set('lastFingerprint', job.fingerprint);
    set('lastStage', job.stage);
    set('updatedAt', job.now);
    return {
      TableName: this.jobs,
      Key: { pk: jobPk(job.provider, job.jobId) },
      UpdateExpression: `SET ${sets.join(', ')}, createdAt = if_not_exists(createdAt, :now) ADD eventCount :one`,
      ConditionExpression: movesForward,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private jobFill(job: JobWrite): UpdateInput | undefined {
    const entries = Object.entries(job.fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return undefined;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([field, value], i) => {
      names[`#a${i}`] = field;
      values[`:v${i}`] = value;
      return `#a${i} = if_not_exists(#a${i}, :v${i})`;
    });
    return {
      TableName: this.jobs,
      Key: { pk: jobPk(job.provider, job.jobId) },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: jobExists,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
}

const maxTransactionAttempts = 4;
const transientCancellations = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
]);

function cancellationReasons(error: unknown): CancellationReason[] {
  if (
    error instanceof TransactionCanceledException ||
    (error as { name?: string })?.name === 'TransactionCanceledException'
  ) {
    return (error as TransactionCanceledException).CancellationReasons ?? [];
  }
  return [];
}

function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** The document client's options; `send` marshals with them too, to name an item the client refused. */
const marshallOptions: MarshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: false };

/** Error names DynamoDB uses for a request it will refuse however often it is sent. */
const refusedForGood = new Set(['ValidationException', 'SerializationException']);

/** The error the document client's marshaller raises for one of these items, if any. */
function marshallingRefusal(items: ReadonlyArray<unknown>): unknown {
  for (const item of items) {
    try {
      marshall(item as Record<string, unknown>, marshallOptions);
    } catch (error) {
      return error;
    }
  }
  return undefined;
}

function isRefusedForGood(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (refusedForGood.has(error.name)) return true;
  // In a transaction, an item DynamoDB refuses is a `ValidationError` cancellation reason.
  return cancellationReasons(error).some((reason) => reason.Code === 'ValidationError');
}

/** The items and expression values of a transaction: what the marshaller will convert. */
function transactionValues(items: TransactItem[]): unknown[] {
  return items.flatMap((item) => [item.Put?.Item, item.Update?.ExpressionAttributeValues]).filter(Boolean);
}

/** An item as DynamoDB returns it on a failed condition: raw attribute values (or, rarely, plain). */
type StoredItem = Record<string, { S?: string } | string | undefined>;

function attributeText(value: { S?: string } | string | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.S;
}
